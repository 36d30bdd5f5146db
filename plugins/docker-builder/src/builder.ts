import type {BuildContext, Builder, BuildOptions, ImageInfo, ImageRef, PluginToolkit} from 'kudev'
import type {Readable} from 'node:stream'

export class DockerBuilder implements Builder {
  readonly name = 'docker'

  constructor(private readonly toolkit: PluginToolkit) {}

  async build(_context: BuildContext, _options: BuildOptions, _signal: AbortSignal): Promise<ImageRef> {
    throw this.toolkit.error('internal', 'the docker builder is not implemented yet')
  }

  async inspect(_ref: string): Promise<ImageInfo | undefined> {
    throw this.toolkit.error('internal', 'the docker builder is not implemented yet')
  }

  async save(_ref: string): Promise<Readable> {
    throw this.toolkit.error('internal', 'the docker builder is not implemented yet')
  }
}

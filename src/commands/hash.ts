import {Flags} from '@oclif/core'

import {buildInputFlags, buildInputs, configFlags} from '../cli/flags.js'
import {KudevCommand} from '../cli/kudev-command.js'

export default class Hash extends KudevCommand {
  static override description =
    "The tag names exactly one set of build inputs: the files Docker would receive as the build context (after .dockerignore, or kudev's defaults without one, and spec.buildContextExclusions), their paths, types, permission bits and contents, plus the Dockerfile, the ignore file, build args, target and platform. A cache of the tree (size, times, inode, mode and hash of every entry) keeps repeated runs fast; --no-cache reads every file."
  static override examples = [
    '<%= config.bin %> hash',
    '<%= config.bin %> hash --list',
    '<%= config.bin %> hash --explain',
    '<%= config.bin %> hash --build-arg VERSION=1.2 --target runtime --json',
  ]

  static override flags = {
    ...configFlags,
    ...buildInputFlags,
    explain: Flags.boolean({
      description: 'Show each excluded path with the rule that excluded it, sizes, the largest folders, and hints.',
      exclusive: ['list'],
    }),
    list: Flags.boolean({
      description:
        'Print the entries `COPY . /dst` would see, one per line, sorted; folders end in /, names with control characters are JSON-quoted.',
      exclusive: ['explain'],
    }),
    'no-cache': Flags.boolean({description: 'Read and hash every file, ignoring and not updating the tree snapshot.'}),
  }

  static override summary = 'Print the image tag of the source in front of you'

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Hash)
    const [{loadConfig}, {hashBuildContext}, {hashProgressView}, report] = await Promise.all([
      import('../config/index.js'),
      import('../hash/index.js'),
      import('../hash/progress.js'),
      import('../hash/report.js'),
    ])
    const project = await loadConfig({config: flags.config, cwd: process.cwd(), dir: flags.dir})
    const progress = this.logger.enabled('info') ? hashProgressView(process.stderr) : undefined
    const result = await hashBuildContext(project, {
      ...buildInputs(flags),
      explain: flags.explain,
      logger: this.logger,
      noCache: flags['no-cache'],
      onProgress: progress?.update,
    }).finally(() => progress?.clear())

    const {imageName} = project.config.spec
    const explanation = flags.explain ? report.explain(result) : undefined
    if (flags.list) {
      const lines = report.listLines(result)
      if (lines.length > 0) this.print(lines.join('\n'))
    } else if (explanation) this.print(report.renderExplanation(result, explanation))
    else this.print(result.tag)

    return {
      digest: result.digest,
      image: `${imageName}:${result.tag}`,
      imageName,
      inputs: result.inputs,
      ...result.stats,
      ignoreFile: result.ignoreFile?.path ?? null,
      tag: result.tag,
      ...(flags.list
        ? {list: result.entries.map((entry) => (entry.type === 'dir' ? `${entry.path}/` : entry.path))}
        : {}),
      ...(explanation ? {explain: explanation} : {}),
    }
  }
}

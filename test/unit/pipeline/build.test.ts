import {Config} from '@oclif/core'
import {expect} from 'chai'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadConfig} from '../../../src/config/index.js'
import {ContextChangedError} from '../../../src/context/tar.js'
import {createLogger} from '../../../src/output/logger.js'
import {type BuildContext, type Builder, type BuildOptions, DIGEST_LABEL} from '../../../src/plugins/contract.js'
import {buildImage} from '../../../src/pipeline/build.js'
import {chooseBuilder} from '../../../src/pipeline/choose.js'
import {repoRoot} from '../../support/cli.js'

/**
 * A builder that records what it was asked and can fail its first builds with a "file changed" error. It
 * applies the labels it is given, as the contract asks, unless told to drop them.
 */
function recordingBuilder(options: {changes: number; onChange: () => Promise<void>; dropLabels?: boolean}) {
  const calls: {digest: string; options: BuildOptions}[] = []
  const images = new Map<string, {id: string; labels: Record<string, string>}>()
  let changes = options.changes
  const builder: Builder = {
    async build(context: BuildContext, buildOptions: BuildOptions) {
      calls.push({digest: context.digest, options: buildOptions})
      if (changes-- > 0) {
        await options.onChange()
        throw new ContextChangedError(join(context.root, 'app.txt'), 'size 1 → 2')
      }

      const ref = `${buildOptions.imageName}:${buildOptions.tag}`
      const id = `sha256:${context.digest}`
      images.set(ref, {id, labels: options.dropLabels ? {} : buildOptions.labels})
      return {id, ref}
    },
    inspect: async (ref) => images.get(ref),
    name: 'recording',
    save: async () => {
      throw new Error('not used')
    },
  }
  return {builder, calls}
}

/** As chooseBuilder gives it: the builder and the package it came from. */
function chosen(builder: Builder) {
  return {builder, plugin: 'kudev-test-recording', reason: '--builder'}
}

describe('build pipeline', () => {
  let project: string
  const logger = createLogger('error', {write: () => true}, {NO_COLOR: '1'})
  const view = {color: false, raw: true, silent: true}

  beforeEach(async () => {
    project = await mkdtemp(join(tmpdir(), 'kudev-pipeline-'))
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY . /\n')
    await writeFile(join(project, 'app.txt'), '1')
    await writeFile(
      join(project, '.kudev.yaml'),
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: demo/app, buildArgs: {A: "1"}}\n',
    )
  })
  afterEach(async () => rm(project, {force: true, recursive: true}))

  async function request(extra: object = {}) {
    return {
      buildArgs: {},
      env: {KUDEV_CACHE_DIR: join(project, '.cache-outside-context')},
      logger,
      noCache: true,
      oclif: await Config.load({root: repoRoot}),
      project: await loadConfig({cwd: project}),
      view,
      ...extra,
    }
  }

  it('hashes again and rebuilds when a file changes while it is being sent', async () => {
    const {builder, calls} = recordingBuilder({changes: 1, onChange: () => writeFile(join(project, 'app.txt'), '22')})
    const result = await buildImage(await request(), chosen(builder), new AbortController().signal)
    expect(calls).to.have.length(2)
    expect(calls[0]!.digest).to.not.equal(calls[1]!.digest)
    expect(result.digest).to.equal(calls[1]!.digest)
    expect(result).to.include({built: true, image: `demo/app:${result.tag}`})
  })

  it('gives up after three changed attempts with the change as the error', async () => {
    let n = 0
    const {builder, calls} = recordingBuilder({
      changes: 5,
      onChange: () => writeFile(join(project, 'app.txt'), String(n++)),
    })
    const error = await buildImage(await request(), chosen(builder), new AbortController().signal).then(
      () => undefined,
      (thrown: Error) => thrown,
    )
    expect(calls).to.have.length(3)
    expect(error?.message).to.include('app.txt changed while it was being sent')
  })

  it('passes spec.buildArgs overridden by flags, target and network to the builder, and skips an up-to-date image', async () => {
    const {builder, calls} = recordingBuilder({changes: 0, onChange: async () => {}})
    const first = await buildImage(
      await request({buildArgs: {B: '2'}, network: 'none', target: 'runtime'}),
      chosen(builder),
      new AbortController().signal,
    )
    expect(calls[0]!.options).to.deep.include({
      buildArgs: {A: '1', B: '2'},
      imageName: 'demo/app',
      network: 'none',
      tag: first.tag,
      target: 'runtime',
    })
    const second = await buildImage(
      await request({buildArgs: {B: '2'}, network: 'none', target: 'runtime'}),
      chosen(builder),
      new AbortController().signal,
    )
    expect(second).to.include({built: false, id: first.id})
    expect(calls).to.have.length(1)
  })

  it("calls the builder's prepare() before it hashes (so the two overlap), and a failure there stops nothing", async () => {
    const order: string[] = []
    const {builder} = recordingBuilder({changes: 0, onChange: async () => {}})
    const inspect = builder.inspect.bind(builder)
    const prepared = {
      ...builder,
      inspect: async (ref: string) => {
        order.push('inspect')
        return inspect(ref)
      },
      prepare: async () => {
        order.push('prepare')
        throw new Error('the engine does not answer')
      },
    }
    const result = await buildImage(
      await request({onHashed: () => order.push('hashed')}),
      chosen(prepared),
      new AbortController().signal,
    )
    expect(result.built).to.equal(true)
    expect(order.slice(0, 3)).to.deep.equal(['prepare', 'hashed', 'inspect'])
  })

  it('passes the digest label as the contract says, and warns once about a builder that drops it', async () => {
    const warnings: string[] = []
    const warned = {...logger, warn: (message: string) => warnings.push(message)}
    const {builder, calls} = recordingBuilder({changes: 0, dropLabels: true, onChange: async () => {}})
    const first = await buildImage(await request({logger: warned}), chosen(builder), new AbortController().signal)
    expect(calls[0]!.options.labels).to.deep.equal({[DIGEST_LABEL]: first.digest})
    const second = await buildImage(await request({logger: warned}), chosen(builder), new AbortController().signal)
    expect(second).to.include({built: true, digest: first.digest})
    expect(calls).to.have.length(2)
    expect(warnings).to.deep.equal([
      `builder "recording" (kudev-test-recording) did not apply the label ${DIGEST_LABEL} kudev passed in BuildOptions.labels, so every run rebuilds ${first.image}; ask the plugin's author to apply every label (docs/plugins.md)`,
    ])
  })

  it('a builder that reads the folder: an edit during the build fails verify(), and kudev hashes again and rebuilds', async () => {
    const saved = process.env.KUDEV_CACHE_DIR
    process.env.KUDEV_CACHE_DIR = join(project, '..', `${project.split('/').pop()}-cache`)
    try {
      const seen: string[] = []
      let edits = 1
      const {builder} = recordingBuilder({changes: 0, onChange: async () => {}})
      const folderBuilder: Builder = {
        ...builder,
        async build(context, options, signal) {
          const folder = await context.folder()
          seen.push(await readFile(join(folder!.root, 'app.txt'), 'utf8'))
          if (edits-- > 0) await writeFile(join(project, 'app.txt'), 'edited')
          await folder!.verify()
          return builder.build(context, options, signal)
        },
      }
      const result = await buildImage(await request(), chosen(folderBuilder), new AbortController().signal)
      expect(seen).to.deep.equal(['1', 'edited'])
      const again = await buildImage(await request(), chosen(folderBuilder), new AbortController().signal)
      expect(again).to.include({built: false, digest: result.digest})
    } finally {
      if (saved === undefined) delete process.env.KUDEV_CACHE_DIR
      else process.env.KUDEV_CACHE_DIR = saved
      await rm(join(project, '..', `${project.split('/').pop()}-cache`), {force: true, recursive: true})
    }
  })

  it('takes the network from spec.network unless a flag gives one, and passes --no-cache on', async () => {
    await writeFile(
      join(project, '.kudev.yaml'),
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: demo/app, network: host}\n',
    )
    const {builder, calls} = recordingBuilder({changes: 0, onChange: async () => {}})
    await buildImage(await request({noCache: false}), chosen(builder), new AbortController().signal)
    await buildImage(
      await request({forceBuild: true, network: 'none', noCache: true}),
      chosen(builder),
      new AbortController().signal,
    )
    expect(calls.map((call) => [call.options.network, call.options.noCache])).to.deep.equal([
      ['host', false],
      ['none', true],
    ])
  })

  it('picks the builder by --builder, else spec.builder, else docker, saying where a wrong name came from', async () => {
    const oclif = await Config.load({root: repoRoot})
    const chosenDocker = await chooseBuilder({logger, oclif, project: await loadConfig({cwd: project})})
    expect(chosenDocker).to.deep.include({plugin: '@kudev/plugin-docker-builder', reason: 'the default builder'})
    expect(chosenDocker.builder.name).to.equal('docker')
    await writeFile(
      join(project, '.kudev.yaml'),
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: demo/app, builder: podmn}\n',
    )
    const projectConfig = await loadConfig({cwd: project})
    const error = await chooseBuilder({logger, oclif, project: projectConfig}).then(
      () => undefined,
      (thrown: Error) => thrown,
    )
    expect(error?.message).to.equal(`no builder named "podmn" (from spec.builder in ${join(project, '.kudev.yaml')})`)
    expect((await chooseBuilder({builder: 'docker', logger, oclif, project: projectConfig})).builder.name).to.equal(
      'docker',
    )
    const flagged = await chooseBuilder({builder: 'dockr', logger, oclif, project: projectConfig}).then(
      () => undefined,
      (thrown: Error) => thrown,
    )
    expect(flagged?.message).to.equal('no builder named "dockr" (from --builder)')
  })
})

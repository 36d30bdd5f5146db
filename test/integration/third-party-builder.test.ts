/**
 * A builder from a third-party plugin, written only against the public contract (the fixture
 * kudev-fixture-store-builder), through the real CLI: the skip works because the builder applies the
 * labels kudev passes, and a builder that drops them rebuilds every time, with a warning naming the plugin.
 */
import {expect} from 'chai'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {BuildResult} from '../../src/pipeline/build.js'
import {DIGEST_LABEL} from '../../src/plugins/contract.js'
import {dataDirWithPlugins, runCli} from '../support/cli.js'

describe('a third-party builder, through the contract (real CLI)', () => {
  let project: string
  let store: string
  let data: {dir: string; remove: () => Promise<void>}

  beforeEach(async () => {
    project = await mkdtemp(join(tmpdir(), 'kudev-third-party-'))
    store = join(project, '..', `${project.split('/').pop()}-store.json`)
    data = await dataDirWithPlugins(['kudev-fixture-store-builder'])
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /\n')
    await writeFile(join(project, 'app.txt'), 'one\n')
    await writeFile(
      join(project, '.kudev.yaml'),
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: demo/app}\n',
    )
  })

  afterEach(async () => {
    await data.remove()
    await rm(project, {force: true, recursive: true})
    await rm(store, {force: true})
  })

  async function build(builder: string): Promise<{result: BuildResult; stderr: string}> {
    const env = {KUDEV_CACHE_DIR: join(data.dir, 'cache'), KUDEV_DATA_DIR: data.dir, KUDEV_FIXTURE_STORE: store}
    const run = await runCli(['build', '--builder', builder, '--json'], {cwd: project, env})
    expect(run.exitCode, run.stderr).to.equal(0)
    return {result: JSON.parse(run.stdout) as BuildResult, stderr: run.stderr}
  }

  const builds = async () => (JSON.parse(await readFile(store, 'utf8')) as {builds: number}).builds

  it('skips the second build: the builder applied the digest label kudev passed', async () => {
    const first = await build('store')
    expect(first.result).to.include({builder: 'store', built: true})
    const images = (JSON.parse(await readFile(store, 'utf8')) as {images: Record<string, {labels: object}>}).images
    expect(images[first.result.image]!.labels).to.deep.equal({[DIGEST_LABEL]: first.result.digest})
    const second = await build('store')
    expect(second.result).to.include({built: false, id: first.result.id, image: first.result.image})
    expect(await builds()).to.equal(1)
    expect(first.stderr + second.stderr).not.to.include('Warning')

    await writeFile(join(project, 'app.txt'), 'two\n')
    const edited = await build('store')
    expect(edited.result.built).to.equal(true)
    expect(edited.result.image).not.to.equal(first.result.image)
    expect(await builds()).to.equal(2)
  })

  it('rebuilds every time when the builder drops the label, and warns naming the plugin', async () => {
    const first = await build('store-no-labels')
    const second = await build('store-no-labels')
    expect([first.result.built, second.result.built]).to.deep.equal([true, true])
    expect(await builds()).to.equal(2)
    const warning = `Warning: builder "store-no-labels" (kudev-fixture-store-builder) did not apply the label ${DIGEST_LABEL} kudev passed in BuildOptions.labels, so every run rebuilds ${first.result.image}; ask the plugin's author to apply every label (docs/plugins.md)`
    for (const {stderr} of [first, second]) {
      expect(stderr.split('\n').filter((line) => line.startsWith('Warning:'))).to.deep.equal([warning])
    }
  })
})

import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {repoRoot} from '../../support/cli.js'

// In-process runs through @oclif/test; ESM needs the root passed explicitly (oclif/test#542).
describe('commands in process', () => {
  let project: string
  before(async () => {
    project = await mkdtemp(join(tmpdir(), 'kudev-cmd-'))
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\n')
    await writeFile(
      join(project, '.kudev.yaml'),
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: demo}\nspec: {imageName: demo/web, buildArgs: {VERSION: "1.0"}}\n',
    )
  })
  after(async () => rm(project, {force: true, recursive: true}))

  it('validate returns the resolved configuration as its JSON result', async () => {
    const {error, result, stdout} = await runCommand<{
      valid: boolean
      config: {spec: {buildArgs: Record<string, string>}}
    }>(['validate', '-C', project, '--json'], {root: repoRoot})
    expect(error).to.equal(undefined)
    expect(result?.valid).to.equal(true)
    expect(result?.config.spec.buildArgs).to.deep.equal({VERSION: '1.0'})
    expect(JSON.parse(stdout).dockerfile).to.equal(join(project, 'Dockerfile'))
  })

  it('validate fails with the config exit code for a missing file', async () => {
    const {error} = await runCommand(['validate', '--config', join(project, 'nope.yaml')], {root: repoRoot})
    expect(error?.oclif?.exit).to.equal(1)
  })
})

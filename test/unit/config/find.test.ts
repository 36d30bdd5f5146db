import {expect} from 'chai'
import {chmod, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {findConfigFile, loadConfig} from '../../../src/config/index.js'
import {rejection, tempDirs} from './helpers.js'

const VALID =
  'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: my-app}\nspec: {imageName: my-app}\n'

async function ancestorHasConfig(dir: string): Promise<boolean> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    if (
      await stat(path.join(current, '.kudev.yaml')).then(
        () => true,
        () => false,
      )
    )
      return true
    if (path.dirname(current) === current) return false
  }
}

describe('config: finding the file', () => {
  const temp = tempDirs()
  afterEach(() => temp.cleanup())

  it('searches upward from the working directory', async () => {
    const dir = await temp.make({'.kudev.yaml': VALID, 'a/b/c/keep': ''})
    expect(await findConfigFile({cwd: path.join(dir, 'a', 'b', 'c')})).to.equal(path.join(dir, '.kudev.yaml'))
  })

  it('uses the nearest file when several folders have one', async () => {
    const dir = await temp.make({'.kudev.yaml': VALID, 'sub/.kudev.yaml': VALID, 'sub/deeper/keep': ''})
    expect(await findConfigFile({cwd: path.join(dir, 'sub', 'deeper')})).to.equal(path.join(dir, 'sub', '.kudev.yaml'))
  })

  it('skips a folder named .kudev.yaml', async () => {
    const dir = await temp.make({'.kudev.yaml': VALID, 'sub/.kudev.yaml/keep': ''})
    expect(await findConfigFile({cwd: path.join(dir, 'sub')})).to.equal(path.join(dir, '.kudev.yaml'))
  })

  it('reports where the search started when no file is found', async function () {
    const dir = await temp.make({'a/keep': ''})
    if (await ancestorHasConfig(dir)) this.skip()
    const error = await rejection(findConfigFile({cwd: path.join(dir, 'a')}))
    expect(error.code).to.equal('config')
    expect(error.message).to.equal(`no .kudev.yaml found in ${path.join(dir, 'a')} or any parent folder`)
    expect(error.hint).to.equal('run `kudev init` to create one, or pass --config FILE')
  })

  describe('--config', () => {
    it('uses the given file, relative to the working directory, without searching', async () => {
      const dir = await temp.make({'.kudev.yaml': VALID, 'conf/dev.yaml': VALID})
      expect(await findConfigFile({cwd: dir, config: 'conf/dev.yaml'})).to.equal(path.join(dir, 'conf', 'dev.yaml'))
      expect(await findConfigFile({cwd: path.join(dir, 'conf'), config: path.join(dir, 'conf', 'dev.yaml')})).to.equal(
        path.join(dir, 'conf', 'dev.yaml'),
      )
    })

    it('resolves the paths inside it from its own folder', async () => {
      const dir = await temp.make({'conf/dev.yaml': VALID, 'conf/Dockerfile': ''})
      const project = await loadConfig({cwd: dir, config: 'conf/dev.yaml'})
      expect(project.dockerfile).to.equal(path.join(dir, 'conf', 'Dockerfile'))
      expect(project.buildContext).to.equal(path.join(dir, 'conf'))
    })

    it('fails naming the file when it does not exist', async () => {
      const dir = await temp.make()
      const error = await rejection(findConfigFile({cwd: dir, config: 'missing.yaml'}))
      expect(error.code).to.equal('config')
      expect(error.message).to.equal(`--config missing.yaml: ${path.join(dir, 'missing.yaml')} does not exist`)
    })

    it('fails when it names a folder', async () => {
      const dir = await temp.make({'conf/keep': ''})
      const error = await rejection(findConfigFile({cwd: dir, config: 'conf'}))
      expect(error.message).to.equal(`--config conf: ${path.join(dir, 'conf')} is a folder, not a file`)
    })
  })

  describe('-C/--dir', () => {
    it('starts the search in the given folder, relative to the working directory', async () => {
      const dir = await temp.make({'app/.kudev.yaml': VALID, 'app/src/keep': '', 'other/keep': ''})
      expect(await findConfigFile({cwd: path.join(dir, 'other'), dir: '../app/src'})).to.equal(
        path.join(dir, 'app', '.kudev.yaml'),
      )
    })

    it('resolves --config from the given folder, like git -C', async () => {
      const dir = await temp.make({'app/conf/dev.yaml': VALID})
      expect(await findConfigFile({cwd: dir, dir: 'app', config: 'conf/dev.yaml'})).to.equal(
        path.join(dir, 'app', 'conf', 'dev.yaml'),
      )
    })

    it('fails when the folder does not exist or is a file', async () => {
      const dir = await temp.make({file: ''})
      const missing = await rejection(findConfigFile({cwd: dir, dir: 'nope'}))
      expect(missing.code).to.equal('usage')
      expect(missing.message).to.equal(`--dir nope: ${path.join(dir, 'nope')} does not exist`)
      const file = await rejection(findConfigFile({cwd: dir, dir: 'file'}))
      expect(file.message).to.equal(`--dir file: ${path.join(dir, 'file')} is not a folder`)
    })
  })

  it('fails naming the file when it cannot be read', async function () {
    if (process.getuid?.() === 0) this.skip() // root reads any file
    const dir = await temp.make({'.kudev.yaml': VALID})
    await chmod(path.join(dir, '.kudev.yaml'), 0o000)
    const error = await rejection(loadConfig({cwd: dir}))
    expect(error.code).to.equal('config')
    expect(error.message).to.equal(`cannot read ${path.join(dir, '.kudev.yaml')} (EACCES)`)
  })

  it('fails naming the file when it is not UTF-8 (UTF-16 from an editor, or Latin-1 bytes), and reads one with a BOM', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const file = path.join(dir, '.kudev.yaml')
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID, 'utf16le')])
    await writeFile(file, utf16)
    const wide = await rejection(loadConfig({cwd: dir}))
    expect(wide).to.include({code: 'config', message: `${file} is UTF-16 text; kudev reads it as UTF-8`})
    expect(wide.hint).to.equal('save it with the UTF-8 encoding (your editor offers it when saving)')
    await writeFile(file, Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from(`\n${VALID}`)]))
    expect((await rejection(loadConfig({cwd: dir}))).message).to.equal(`${file} is not UTF-8 text (line 1)`)
    await writeFile(file, `\ufeff${VALID}`)
    expect((await loadConfig({cwd: dir})).file).to.equal(file)
  })
})

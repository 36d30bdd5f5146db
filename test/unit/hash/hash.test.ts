import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, chown, mkdir, rename, rm, symlink, unlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {KudevSpec} from '../../../src/config/schema.js'
import {hashBuildContext, type HashOptions, type HashResult} from '../../../src/hash/index.js'
import {isKudevError} from '../../../src/output/errors.js'
import {createLogger} from '../../../src/output/logger.js'
import {makeTree, projectConfig, runningAsRoot, tempFolder, type TreeSpec} from '../../support/tree.js'

const baseTree: TreeSpec = {
  Dockerfile: 'FROM scratch\nCOPY . /app\n',
  '.dockerignore': 'ignored.txt\nlogs\n',
  'src/app.js': 'console.log("app")\n',
  'src/lib/util.js': 'export const x = 1\n',
  'bin/run.sh': {content: '#!/bin/sh\nexec node src/app.js\n', mode: 0o644},
  current: {link: 'src'},
  'ignored.txt': 'not in the context',
  'logs/today.log': 'noise',
}

function silentLogger(lines: string[] = []) {
  return createLogger('warn', {write: (text: string) => lines.push(text)})
}

async function hash(
  dir: string,
  options: Partial<HashOptions> = {},
  spec: Partial<KudevSpec> = {},
  paths: {dockerfile?: string} = {},
): Promise<HashResult> {
  return hashBuildContext(projectConfig(dir, spec, paths), {logger: silentLogger(), noCache: true, ...options})
}

describe('build context hash', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  async function project(spec: TreeSpec = baseTree): Promise<string> {
    const {dir, remove} = await tempFolder('hash')
    cleanups.push(remove)
    await makeTree(dir, spec)
    return dir
  }

  it('gives the same digest for the same tree however it was created, run after run', async () => {
    const forward = await project()
    const backward = await project(Object.fromEntries(Object.entries(baseTree).reverse()))
    const first = await hash(forward)
    expect((await hash(backward)).digest).to.equal(first.digest)
    expect((await hash(forward)).digest).to.equal(first.digest)
    expect(first.tag).to.equal(`kudev-${first.digest.slice(0, 8)}`)
    expect(first.digest).to.match(/^[\da-f]{64}$/)
  })

  it('lists what COPY . would see and counts it', async () => {
    const result = await hash(await project())
    expect(result.entries.map((entry) => entry.path)).to.deep.equal([
      '.dockerignore',
      'Dockerfile',
      'bin',
      'bin/run.sh',
      'current',
      'src',
      'src/app.js',
      'src/lib',
      'src/lib/util.js',
    ])
    expect(result.stats).to.include({dirs: 3, entries: 9, files: 5, symlinks: 1})
    expect(result.stats.bytes).to.equal(
      result.entries.filter((entry) => entry.type === 'file').reduce((sum, entry) => sum + entry.size, 0),
    )
  })

  describe('moves when something that reaches the image changes', () => {
    const changes: Record<string, (dir: string) => Promise<unknown>> = {
      'file content': (dir) => writeFile(join(dir, 'src/app.js'), 'console.log("changed")\n'),
      'a rename': (dir) => rename(join(dir, 'src/lib/util.js'), join(dir, 'src/lib/utils.js')),
      'chmod +x': (dir) => chmod(join(dir, 'bin/run.sh'), 0o755),
      'a new empty folder': (dir) => mkdir(join(dir, 'src/empty')),
      'a symlink target': async (dir) => {
        await unlink(join(dir, 'current'))
        await symlink('src/lib', join(dir, 'current'))
      },
      'a file turned into a symlink to the same content': async (dir) => {
        await rm(join(dir, 'src/app.js'))
        await symlink('lib/util.js', join(dir, 'src/app.js'))
      },
      'the Dockerfile': (dir) => writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /srv\n'),
      'the ignore file, even when the same files stay out': (dir) =>
        writeFile(join(dir, '.dockerignore'), 'ignored.txt\nlogs\n# comment\n'),
      'a file leaving the ignore rules': (dir) => writeFile(join(dir, '.dockerignore'), 'logs\n'),
    }
    for (const [what, change] of Object.entries(changes)) {
      it(what, async () => {
        const dir = await project()
        const before = await hash(dir)
        await change(dir)
        expect((await hash(dir)).digest).not.to.equal(before.digest)
      })
    }

    it('a build arg, the target, the platform', async () => {
      const dir = await project()
      const digests = await Promise.all([
        hash(dir),
        hash(dir, {buildArgs: {VERSION: '1'}}),
        hash(dir, {buildArgs: {VERSION: '2'}}),
        hash(dir, {target: 'runtime'}),
        hash(dir, {platform: 'linux/arm64'}),
        hash(dir, {}, {buildContextExclusions: ['tmp/']}),
      ])
      expect(new Set(digests.map((result) => result.digest)).size).to.equal(digests.length)
    })
  })

  describe('stays when nothing that reaches the image changes', () => {
    const changes: Record<string, (dir: string) => Promise<unknown>> = {
      'modification times': (dir) => utimes(join(dir, 'src/app.js'), new Date(2001, 0, 1), new Date(2001, 0, 1)),
      'an excluded file': (dir) => writeFile(join(dir, 'ignored.txt'), 'still not in the context'),
      'a new file in an excluded folder': (dir) => writeFile(join(dir, 'logs/tomorrow.log'), 'more noise'),
      'the same content rewritten': (dir) => writeFile(join(dir, 'src/app.js'), 'console.log("app")\n'),
    }
    for (const [what, change] of Object.entries(changes)) {
      it(what, async () => {
        const dir = await project()
        const before = await hash(dir)
        await change(dir)
        expect((await hash(dir)).digest).to.equal(before.digest)
      })
    }

    it(".kudev.yaml, even where the ignore file names it with a ! rule: kudev's own settings never reach the image", async () => {
      const dir = await project({...baseTree, '.dockerignore': 'ignored.txt\nlogs\n!.kudev.yaml\n'})
      await writeFile(join(dir, '.kudev.yaml'), 'spec: {replicas: 1}\n')
      const before = await hash(dir, {explain: true})
      expect(before.entries.map((entry) => entry.path)).to.not.include('.kudev.yaml')
      const excluded = before.excluded.find((path) => path.path === '.kudev.yaml')
      expect(excluded?.reason).to.include({file: join(dir, '.kudev.yaml'), source: 'kudev'})
      await writeFile(join(dir, '.kudev.yaml'), 'spec: {replicas: 2}\n')
      expect((await hash(dir)).digest).to.equal(before.digest)
      // A file of that name elsewhere is the project's own: it stays.
      await writeFile(join(dir, 'src/.kudev.yaml'), 'not the config in use')
      expect((await hash(dir)).entries.map((entry) => entry.path)).to.include('src/.kudev.yaml')
    })

    it('ownership', async function () {
      // Only root can give files away.
      if (!runningAsRoot) this.skip()
      const dir = await project()
      const before = await hash(dir)
      await chown(join(dir, 'src/app.js'), 1234, 1234)
      await chown(join(dir, 'src'), 1234, 1234)
      expect((await hash(dir)).digest).to.equal(before.digest)
    })

    it('a build arg given on the command line with the value spec.buildArgs already has', async () => {
      const dir = await project()
      const fromSpec = await hash(dir, {}, {buildArgs: {A: '1', B: '2'}})
      expect((await hash(dir, {buildArgs: {B: '2'}}, {buildArgs: {A: '1', B: '2'}})).digest).to.equal(fromSpec.digest)
      expect((await hash(dir, {buildArgs: {B: '3'}}, {buildArgs: {A: '1', B: '2'}})).inputs.buildArgs).to.deep.equal({
        A: '1',
        B: '3',
      })
    })

    it('an empty target or platform (Docker treats them as none)', async () => {
      const dir = await project()
      expect((await hash(dir, {platform: '', target: ''})).digest).to.equal((await hash(dir)).digest)
    })
  })

  it('takes a Dockerfile outside the context, with its path relative to the context', async () => {
    const dir = await project({
      'docker/Dockerfile': 'FROM scratch\n',
      'app/main.go': 'package main\n',
      'app/.dockerignore': '',
    })
    const paths = {buildContext: join(dir, 'app'), dockerfile: join(dir, 'docker/Dockerfile')}
    const result = await hashBuildContext(projectConfig(dir, {}, paths), {logger: silentLogger(), noCache: true})
    expect(result.inputs.dockerfilePath).to.equal('../docker/Dockerfile')
    expect(result.entries.map((entry) => entry.path)).to.deep.equal(['.dockerignore', 'main.go'])
    await writeFile(join(dir, 'docker/Dockerfile'), 'FROM scratch\nUSER 1000\n')
    expect(
      (await hashBuildContext(projectConfig(dir, {}, paths), {logger: silentLogger(), noCache: true})).digest,
    ).not.to.equal(result.digest)
  })

  it('uses <Dockerfile>.dockerignore instead of the root .dockerignore', async () => {
    const dir = await project({
      Dockerfile: 'FROM scratch\n',
      'Dockerfile.dockerignore': 'secret\n',
      '.dockerignore': '',
      secret: 's',
      kept: 'k',
    })
    const result = await hash(dir)
    expect(result.ignoreFile?.path).to.equal(join(dir, 'Dockerfile.dockerignore'))
    expect(result.entries.map((entry) => entry.path)).to.deep.equal([
      '.dockerignore',
      'Dockerfile',
      'Dockerfile.dockerignore',
      'kept',
    ])
  })

  it('warns about a FIFO it leaves out', async () => {
    const dir = await project()
    await execa('mkfifo', [join(dir, 'src/pipe')])
    const lines: string[] = []
    const withPipe = await hash(dir, {logger: silentLogger(lines)})
    expect(lines.join('')).to.equal(
      'Warning: skipped src/pipe in the build context: a FIFO (named pipe), which Docker does not copy\n',
    )
    await rm(join(dir, 'src/pipe'))
    expect((await hash(dir)).digest).to.equal(withPipe.digest)
  })

  describe('bad input', () => {
    async function failure(promise: Promise<unknown>) {
      try {
        await promise
      } catch (error) {
        if (isKudevError(error)) return {code: error.code, hint: error.hint, message: error.message}
        throw error
      }

      throw new Error('expected a failure')
    }

    it('a missing context folder', async () => {
      const dir = await project()
      const error = await failure(
        hashBuildContext(projectConfig(dir, {}, {buildContext: join(dir, 'nope')}), {logger: silentLogger()}),
      )
      expect(error).to.deep.include({code: 'config', message: `build context ${join(dir, 'nope')} does not exist`})
      expect(error.hint).to.include('spec.buildContext')
    })

    it('a context that is a file', async () => {
      const dir = await project()
      const error = await failure(
        hashBuildContext(projectConfig(dir, {}, {buildContext: join(dir, 'Dockerfile')}), {logger: silentLogger()}),
      )
      expect(error.message).to.equal(`build context ${join(dir, 'Dockerfile')} is not a folder`)
    })

    it('a missing Dockerfile', async () => {
      const dir = await project()
      const error = await failure(hash(dir, {}, {}, {dockerfile: join(dir, 'Dockerfile.prod')}))
      expect(error).to.deep.include({
        code: 'config',
        message: `Dockerfile ${join(dir, 'Dockerfile.prod')} does not exist`,
      })
      expect(error.hint).to.include('spec.dockerfilePath')
    })

    it('an invalid .dockerignore pattern', async () => {
      const dir = await project({...baseTree, '.dockerignore': 'ok\n[\n'})
      const error = await failure(hash(dir))
      expect(error.code).to.equal('config')
      expect(error.message).to.include('.dockerignore')
    })
  })
})

import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, lstat, mkdir, utimes} from 'node:fs/promises'
import {join} from 'node:path'

import type {ContextFilter} from '../../../src/context/filter.js'
import {loadContextFilter} from '../../../src/context/filter.js'
import {walkContext} from '../../../src/context/walk.js'
import {isKudevError} from '../../../src/output/errors.js'
import {repoRoot} from '../../support/cli.js'
import {makeTree, runningAsRoot, tempFolder, type TreeSpec} from '../../support/tree.js'

async function walk(spec: TreeSpec, options: {explain?: boolean; exclusions?: string[]} = {}) {
  const {dir, remove} = await tempFolder('walk')
  try {
    await makeTree(dir, spec)
    const filter = await loadContextFilter({
      contextDir: dir,
      dockerfile: join(dir, 'Dockerfile'),
      exclusions: options.exclusions ?? [],
    })
    return {dir, ...walkContext(dir, filter, {explain: options.explain})}
  } finally {
    await remove()
  }
}

const paths = (entries: Array<{path: string; type: string}>) =>
  entries.map((entry) => (entry.type === 'dir' ? `${entry.path}/` : entry.path))

describe('context walk', () => {
  it('lists files, folders (empty ones too) and symlinks depth first, siblings by name', async () => {
    const {entries} = await walk({
      '.dockerignore': '',
      'b.txt': 'b',
      'a/z.txt': 'z',
      'a-b': 'dash',
      'a/empty': {dir: true},
      link: {link: 'a'},
    })
    expect(paths(entries)).to.deep.equal(['.dockerignore', 'a/', 'a/empty/', 'a/z.txt', 'a-b', 'b.txt', 'link'])
  })

  it('keeps symlinks as links with their target text and never follows them', async () => {
    const {entries} = await walk({
      '.dockerignore': '',
      'real/inside.txt': 'x',
      'to-real': {link: 'real'},
      dangling: {link: '../nowhere'},
    })
    expect(paths(entries)).to.deep.equal(['.dockerignore', 'dangling', 'real/', 'real/inside.txt', 'to-real'])
    expect(entries.find((entry) => entry.path === 'to-real')).to.include({linkTarget: 'real', type: 'symlink'})
    expect(entries.find((entry) => entry.path === 'dangling')).to.include({linkTarget: '../nowhere', type: 'symlink'})
  })

  it('handles names with spaces, unicode and newlines', async () => {
    const names = ['with space.txt', 'ünïcødé-文件.txt', 'new\nline.txt', 'emoji-🙂']
    const {entries} = await walk({
      '.dockerignore': '',
      ...Object.fromEntries(names.map((name) => [`dir/${name}`, name])),
    })
    expect(paths(entries).slice(2)).to.have.members(names.map((name) => `dir/${name}`))
  })

  it('records mode & 0o7777 (setuid, sticky and exec bits), size and the lstat times in nanoseconds', async () => {
    const {dir, remove} = await tempFolder('walk')
    try {
      await makeTree(dir, {'.dockerignore': '', tool: {content: '#!/bin/sh\n', mode: 0o4755}, shared: {dir: true}})
      await chmod(join(dir, 'shared'), 0o1777)
      const filter = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
      const {entries} = walkContext(dir, filter)
      const stats = await lstat(join(dir, 'tool'), {bigint: true})
      expect(entries.find((entry) => entry.path === 'tool')).to.include({
        ctimeNs: stats.ctimeNs,
        ino: stats.ino,
        mode: 0o4755,
        mtimeNs: stats.mtimeNs,
        size: 10,
      })
      expect(entries.find((entry) => entry.path === 'shared')?.mode).to.equal(0o1777)
    } finally {
      await remove()
    }
  })

  it('skips FIFOs and reports them', async function () {
    const {dir, remove} = await tempFolder('walk')
    try {
      await makeTree(dir, {'.dockerignore': '', 'kept.txt': 'k'})
      await execa('mkfifo', [join(dir, 'pipe')])
      const filter = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
      const {entries, skipped} = walkContext(dir, filter)
      expect(paths(entries)).to.deep.equal(['.dockerignore', 'kept.txt'])
      expect(skipped).to.deep.equal([{description: 'a FIFO (named pipe)', path: 'pipe'}])
    } finally {
      await remove()
    }
  })

  it('does not descend into an excluded folder that no ! rule can reach', async () => {
    const {dir, remove} = await tempFolder('walk')
    try {
      await makeTree(dir, {'.dockerignore': 'node_modules\n', 'node_modules/a/index.js': 'x', 'src/app.js': 'y'})
      const real = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
      const decided: string[] = []
      const spy: ContextFilter = {
        decide(path, isDir, parent) {
          decided.push(path)
          return real.decide(path, isDir, parent)
        },
        exclusions: real.exclusions,
        mustDescend: (path, decision) => real.mustDescend(path, decision),
        rules: real.rules,
        source: real.source,
      }
      const {entries} = walkContext(dir, spy)
      expect(paths(entries)).to.deep.equal(['.dockerignore', 'src/', 'src/app.js'])
      expect(decided.filter((path) => path.startsWith('node_modules/'))).to.deep.equal([])
    } finally {
      await remove()
    }
  })

  it('sends an excluded folder, with its own stat, only when a ! rule re-includes something below it', async () => {
    const {dir, remove} = await tempFolder('walk')
    try {
      await makeTree(dir, {
        '.dockerignore': 'docs\n!docs/**/*.md\n',
        'docs/README.md': 'r',
        'docs/notes.txt': 'n',
        'docs/deep/guide.md': 'g',
        'docs/empty-of-md/x.txt': 'x',
      })
      await chmod(join(dir, 'docs'), 0o750)
      const filter = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
      const {entries} = walkContext(dir, filter)
      expect(paths(entries)).to.deep.equal([
        '.dockerignore',
        'docs/',
        'docs/README.md',
        'docs/deep/',
        'docs/deep/guide.md',
      ])
      expect(entries.find((entry) => entry.path === 'docs')?.mode).to.equal(0o750)
    } finally {
      await remove()
    }
  })

  it('explains every excluded path with its rule, files and bytes', async () => {
    const {excluded} = await walk(
      {
        '.dockerignore': '# deps\nnode_modules\n*.log\n',
        'node_modules/a/b.js': '12345',
        'node_modules/c.js': '123',
        'app.log': '1',
        'tmp/x': 'x',
      },
      {explain: true, exclusions: ['tmp/']},
    )
    expect(
      excluded.map(({bytes, files, isDir, path, reason}) => ({
        bytes,
        files,
        isDir,
        line: reason?.line,
        path,
        pattern: reason?.pattern,
      })),
    ).to.deep.equal([
      {bytes: 1, files: 1, isDir: false, line: 3, path: 'app.log', pattern: '*.log'},
      {bytes: 8, files: 2, isDir: true, line: 2, path: 'node_modules', pattern: 'node_modules'},
      {bytes: 1, files: 1, isDir: true, line: 1, path: 'tmp', pattern: 'tmp/'},
    ])
  })

  it("uses kudev's defaults without an ignore file", async () => {
    const {entries} = await walk({
      '.git/HEAD': 'ref',
      'node_modules/x.js': 'x',
      'a/node_modules/y.js': 'y',
      'src/app.js': 'a',
      'debug.log': 'l',
    })
    expect(paths(entries)).to.deep.equal(['a/', 'src/', 'src/app.js'])
  })

  it('ignores mtimes when deciding what to list (a touched file is the same entry)', async () => {
    const {dir, remove} = await tempFolder('walk')
    try {
      await makeTree(dir, {'.dockerignore': '', 'a.txt': 'a'})
      const filter = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
      const before = paths(walkContext(dir, filter).entries)
      await utimes(join(dir, 'a.txt'), new Date(2000, 1, 1), new Date(2000, 1, 1))
      expect(paths(walkContext(dir, filter).entries)).to.deep.equal(before)
    } finally {
      await remove()
    }
  })

  describe('an unreadable folder', () => {
    // As root, chmod 000 does not stop readdir, so the walk runs in a child process as the user nobody.
    async function walkAs(dir: string): Promise<{exitCode?: number; stdout: string; stderr: string}> {
      const code = `
        import {loadContextFilter} from ${JSON.stringify(join(repoRoot, 'src/context/filter.ts'))}
        import {walkContext} from ${JSON.stringify(join(repoRoot, 'src/context/walk.ts'))}
        const filter = await loadContextFilter({contextDir: ${JSON.stringify(dir)}, dockerfile: ${JSON.stringify(join(dir, 'Dockerfile'))}, exclusions: []})
        try { walkContext(${JSON.stringify(dir)}, filter) } catch (error) { console.log(JSON.stringify({code: error.code, message: error.message, hint: error.hint})); process.exit(1) }`
      const result = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: repoRoot,
        reject: false,
        ...(runningAsRoot ? {gid: 65534, uid: 65534} : {}),
      })
      return {exitCode: result.exitCode, stderr: result.stderr, stdout: result.stdout}
    }

    it('is an error that names it', async () => {
      const {dir, remove} = await tempFolder('walk')
      try {
        await chmod(dir, 0o755)
        await makeTree(dir, {'.dockerignore': '', 'open/a.txt': 'a', 'secret/key': 'k'})
        await chmod(join(dir, 'secret'), 0o000)
        const result = await walkAs(dir)
        expect(result.exitCode, result.stderr).to.equal(1)
        const error = JSON.parse(result.stdout) as {code: string; message: string; hint: string}
        expect(error.code).to.equal('config')
        expect(error.message).to.equal(
          `cannot read folder ${join(dir, 'secret')} in the build context (permission denied)`,
        )
        expect(error.hint).to.match(/\.dockerignore/)
      } finally {
        await chmod(join(dir, 'secret'), 0o755).catch(() => {})
        await remove()
      }
    })

    it('is no error when it is excluded', async () => {
      const {dir, remove} = await tempFolder('walk')
      try {
        await chmod(dir, 0o755)
        await makeTree(dir, {'.dockerignore': 'secret\n', 'secret/key': 'k'})
        await mkdir(join(dir, 'open'))
        await chmod(join(dir, 'secret'), 0o000)
        const result = await walkAs(dir)
        expect(result.exitCode, result.stderr + result.stdout).to.equal(0)
      } finally {
        await chmod(join(dir, 'secret'), 0o755).catch(() => {})
        await remove()
      }
    })
  })

  it('errors on a file name that is not valid UTF-8 instead of leaving it out', async () => {
    const {dir, remove} = await tempFolder('walk')
    try {
      await makeTree(dir, {'.dockerignore': ''})
      const {writeFile} = await import('node:fs/promises')
      await writeFile(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff]), Buffer.from('.txt')]), 'x')
      const filter = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
      let thrown: unknown
      try {
        walkContext(dir, filter)
      } catch (error) {
        thrown = error
      }

      expect(isKudevError(thrown) && thrown.message).to.match(
        /cannot read file .*bad-\uFFFD\.txt in the build context \(its name is not valid UTF-8\)/,
      )
    } finally {
      await remove()
    }
  })
})

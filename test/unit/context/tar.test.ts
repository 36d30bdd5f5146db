import {expect} from 'chai'
import {execa} from 'execa'
import {lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createWriteStream} from 'node:fs'

import type {TarEntry} from '../../../src/context/tar.js'
import {isContextChanged, tarContext} from '../../../src/context/tar.js'

async function entryFor(root: string, path: string): Promise<TarEntry> {
  const stats = await lstat(join(root, path), {bigint: true})
  let type: TarEntry['type'] = stats.isSymbolicLink() ? 'symlink' : 'file'
  if (stats.isDirectory()) type = 'dir'
  return {
    linkTarget: type === 'symlink' ? await readlink(join(root, path)) : undefined,
    mode: Number(stats.mode & 0o7777n),
    mtimeNs: stats.mtimeNs,
    path,
    size: type === 'file' ? Number(stats.size) : 0,
    type,
  }
}

describe('context tar stream', () => {
  let root: string
  let out: string
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kudev-tar-src-'))
    out = await mkdtemp(join(tmpdir(), 'kudev-tar-out-'))
  })
  afterEach(async () => {
    await rm(root, {force: true, recursive: true})
    await rm(out, {force: true, recursive: true})
  })

  it('writes a tar that GNU tar extracts to the same tree: long and unicode names, modes, links, empty folders', async () => {
    const deep = `${'deep-folder-name/'.repeat(12)}file.txt`
    const files: Record<string, string> = {
      [deep]: 'deep',
      'exec.sh': '#!/bin/sh\n',
      'naïve résumé ✓.txt': 'unicode',
      'with space.txt': 'x'.repeat(1_500_000),
      [`${'n'.repeat(150)}.txt`]: 'long single name',
    }
    for (const [name, content] of Object.entries(files)) {
      await mkdir(join(root, name, '..'), {recursive: true})
      await writeFile(join(root, name), content)
    }

    await execa('chmod', ['0755', join(root, 'exec.sh')])
    await mkdir(join(root, 'empty'))
    await symlink(`../${'t'.repeat(120)}`, join(root, 'link'))
    const paths = ['empty', 'exec.sh', 'link', 'naïve résumé ✓.txt', 'with space.txt', `${'n'.repeat(150)}.txt`, deep]
    const entries = await Promise.all(paths.map((p) => entryFor(root, p)))
    await pipeline(tarContext(root, entries), createWriteStream(join(out, 'ctx.tar')))
    await mkdir(join(out, 'x'))
    await execa('tar', ['-xf', join(out, 'ctx.tar'), '-C', join(out, 'x')])

    for (const [name, content] of Object.entries(files))
      expect(await readFile(join(out, 'x', name), 'utf8')).to.equal(content)
    expect((await lstat(join(out, 'x', 'exec.sh'))).mode & 0o777).to.equal(0o755)
    expect((await lstat(join(out, 'x', 'empty'))).isDirectory()).to.equal(true)
    expect(await readlink(join(out, 'x', 'link'))).to.equal(`../${'t'.repeat(120)}`)
    const {stdout} = await execa('tar', ['-tvf', join(out, 'ctx.tar'), '--numeric-owner'])
    expect(stdout.split('\n').every((line) => line.includes(' 0/0 '))).to.equal(true)
  })

  it("reads the content from `source` when given, under the entry's own path", async () => {
    await writeFile(join(out, 'Dockerfile.outside'), 'FROM scratch\n')
    const entry = {
      ...(await entryFor(out, 'Dockerfile.outside')),
      path: '.kudev-dockerfile-1',
      source: join(out, 'Dockerfile.outside'),
    }
    const {stdout} = await execa('tar', ['-xOf', '-', '.kudev-dockerfile-1'], {
      input: await streamToBuffer(tarContext(root, [entry])),
    })
    expect(stdout).to.equal('FROM scratch')
  })

  it('refuses a file edited after it was hashed (size or mtime differ)', async () => {
    await writeFile(join(root, 'app.js'), 'v1')
    const hashed = await entryFor(root, 'app.js')
    await writeFile(join(root, 'app.js'), 'v2')
    await utimes(join(root, 'app.js'), new Date(), new Date(Date.now() + 5000))
    const error = await streamToBuffer(tarContext(root, [hashed])).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(isContextChanged(error)).to.equal(true)
    expect((error as Error).message).to.include('app.js changed while it was being sent')

    await writeFile(join(root, 'app.js'), 'longer now')
    const resized = await streamToBuffer(tarContext(root, [hashed])).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect((resized as Error).message).to.include('size 2 → 10')
  })

  it('calls a deleted file a change too', async () => {
    await writeFile(join(root, 'gone.txt'), 'x')
    const hashed = await entryFor(root, 'gone.txt')
    await rm(join(root, 'gone.txt'))
    const error = await streamToBuffer(tarContext(root, [hashed])).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(isContextChanged(error)).to.equal(true)
  })
})

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

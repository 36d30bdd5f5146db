import {expect} from 'chai'
import {execa} from 'execa'
import {lstat, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {assembleBuildContext, type BuildContextInput} from '../../../src/context/build-context.js'
import {type Entry, makeEntry} from '../../../src/context/entries.js'

const digest = 'ab'.repeat(32)

async function fileEntry(root: string, path: string): Promise<Entry> {
  return makeEntry(path, 'file', await lstat(join(root, path), {bigint: true}))
}

async function assemble(input: Pick<BuildContextInput, 'digest' | 'dockerfile' | 'root'> & {entries: Entry[]}) {
  const {entries} = input
  return (
    await assembleBuildContext({
      ...input,
      contextDigest: digest,
      debug: () => {},
      entries: () => entries,
      verify: async () => {},
    })
  ).context
}

async function listTar(context: {tar(): NodeJS.ReadableStream}): Promise<Map<string, string>> {
  const chunks: Buffer[] = []
  for await (const chunk of context.tar()) chunks.push(chunk as Buffer)
  const dir = await mkdtemp(join(tmpdir(), 'kudev-bc-x-'))
  try {
    await execa('tar', ['-xf', '-', '-C', dir], {input: Buffer.concat(chunks)})
    const {stdout} = await execa('find', ['.', '-type', 'f'], {cwd: dir})
    const files = new Map<string, string>()
    for (const file of stdout.split('\n').sort())
      files.set(file.slice(2), (await execa('cat', [file], {cwd: dir})).stdout)
    return files
  } finally {
    await rm(dir, {force: true, recursive: true})
  }
}

describe('assembling the build context for a builder', () => {
  let root: string
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kudev-bc-'))
    await writeFile(join(root, 'app.txt'), 'app')
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\nCOPY . /\n')
  })
  afterEach(async () => rm(root, {force: true, recursive: true}))

  it('sends a Dockerfile that is in the context as itself', async () => {
    const entries = [await fileEntry(root, 'Dockerfile'), await fileEntry(root, 'app.txt')]
    const context = await assemble({digest, dockerfile: join(root, 'Dockerfile'), entries, root})
    expect(context.dockerfile).to.equal('Dockerfile')
    expect([...(await listTar(context)).keys()]).to.deep.equal(['Dockerfile', 'app.txt'])
  })

  it("ships an outside or excluded Dockerfile under a hidden name the tar's .dockerignore drops, as docker build -f does", async () => {
    const outside = await mkdtemp(join(tmpdir(), 'kudev-bc-df-'))
    try {
      await writeFile(join(outside, 'api.Dockerfile'), 'FROM scratch\n')
      const context = await assemble({
        digest,
        dockerfile: join(outside, 'api.Dockerfile'),
        entries: [await fileEntry(root, 'app.txt')],
        root,
      })
      const name = `.dockerfile.${digest.slice(0, 20)}`
      expect(context.dockerfile).to.equal(name)
      const files = await listTar(context)
      expect(files.get(name)).to.equal('FROM scratch')
      // Made for the purpose, it lists itself too, as docker's does, so COPY does not see it.
      expect(files.get('.dockerignore')).to.equal(`.dockerignore\n${name}`)
    } finally {
      await rm(outside, {force: true, recursive: true})
    }
  })

  it("appends to the project's own .dockerignore when the context holds one", async () => {
    await writeFile(join(root, '.dockerignore'), 'Dockerfile\n*.log')
    await mkdir(join(root, 'sub'))
    const entries = [await fileEntry(root, '.dockerignore'), await fileEntry(root, 'app.txt')]
    const context = await assemble({digest, dockerfile: join(root, 'Dockerfile'), entries, root})
    const files = await listTar(context)
    expect(files.get('.dockerignore')).to.equal(`Dockerfile\n*.log\n.dockerfile.${digest.slice(0, 20)}`)
    expect(files.get(context.dockerfile)).to.equal('FROM scratch\nCOPY . /')
  })
})

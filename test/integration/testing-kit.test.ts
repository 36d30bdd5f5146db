/**
 * kudev/testing works where plugin authors use it, outside this repository: kudev is packed and installed,
 * as a dev dependency, into a copy of plugins/podman, whose own unit tests (and the example in
 * docs/plugins.md) are type-checked and run there against it. A wrong expectation must fail.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {repoRoot} from '../support/cli.js'

/** What an author installs besides kudev to test in TypeScript: taken from this repository, nothing downloaded. */
const TEST_TOOLS = ['chai', 'mocha', 'tsx', 'typescript', '@types/chai', '@types/mocha', '@types/node']

interface Packed {
  name: string
  version: string
  filename: string
}

interface Manifest {
  name: string
  version: string
}

interface LockEntry {
  dev?: boolean
  devOptional?: boolean
  link?: boolean
  dependencies?: Record<string, string>
}

describe('kudev/testing outside this repository (packed kudev, a copy of plugins/podman)', function () {
  this.timeout(120_000)
  let work: string
  let plugin: string

  const mocha = (files: string[]) =>
    execa(process.execPath, ['node_modules/mocha/bin/mocha.js', '--node-option', 'import=tsx', ...files], {
      cwd: plugin,
      reject: false,
    })

  before(async function () {
    this.timeout(120_000)
    if (!existsSync(join(repoRoot, 'dist', 'testing', 'index.js'))) {
      throw new Error('kudev is not built: run `npm run build` first')
    }

    work = await mkdtemp(join(tmpdir(), 'kudev-testing-kit-'))
    plugin = join(work, 'kudev-plugin-podman')
    const packs = join(work, 'packs')
    await mkdir(packs)
    await mkdir(join(plugin, 'test'), {recursive: true})
    await cp(join(repoRoot, 'plugins', 'podman', 'src'), join(plugin, 'src'), {recursive: true})
    const tests = (await readdir(join(repoRoot, 'plugins', 'podman', 'test'))).filter(
      (file) => file.endsWith('.test.ts') && !file.endsWith('.integration.test.ts'),
    )
    for (const file of tests) await cp(join(repoRoot, 'plugins', 'podman', 'test', file), join(plugin, 'test', file))
    const docs = await readFile(join(repoRoot, 'docs', 'plugins.md'), 'utf8')
    const example = /\*\*Unit tests with `kudev\/testing`\.\*\*[\s\S]*?```ts\n([\s\S]*?)```/.exec(docs)
    await writeFile(join(plugin, 'test', 'docs-example.test.ts'), example![1]!)

    // kudev depends on the plugins it bundles, which are workspaces here and on no registry: packed with it.
    const root = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }
    const bundled = Object.keys(root.dependencies).filter((name) => name.startsWith('@kudev/'))
    const {stdout} = await execa(
      'npm',
      [
        'pack',
        '--json',
        '--ignore-scripts',
        '--include-workspace-root',
        ...bundled.flatMap((name) => ['-w', name]),
      ].concat(['--pack-destination', packs]),
      {cwd: repoRoot},
    )
    const packed = JSON.parse(stdout) as Packed[]
    const file = (name: string) => `file:../packs/${packed.find((pack) => pack.name === name)!.filename}`
    const manifest = JSON.parse(await readFile(join(repoRoot, 'plugins', 'podman', 'package.json'), 'utf8')) as Manifest
    const devDependencies = {kudev: file('kudev')}
    await writeFile(join(plugin, 'package.json'), JSON.stringify({...manifest, devDependencies}, null, 2))
    await writeFile(
      join(plugin, 'package-lock.json'),
      JSON.stringify(await lockFile({...manifest, devDependencies}, packed, file), null, 2),
    )
    await writeFile(
      join(plugin, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'Node16',
          moduleResolution: 'Node16',
          noEmit: true,
          skipLibCheck: true,
          strict: true,
          target: 'ES2023',
          types: ['node', 'mocha'],
          verbatimModuleSyntax: true,
        },
        include: ['src', 'test'],
      }),
    )
    // No registry: the tarballs npm ci put in npm's cache for this repository's lock.
    await execa('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {cwd: plugin})
    for (const tool of TEST_TOOLS) {
      await mkdir(dirname(join(plugin, 'node_modules', tool)), {recursive: true})
      // kudev's own dependencies may bring one (@kubernetes/client-node depends on @types/node): the repository's wins.
      await rm(join(plugin, 'node_modules', tool), {force: true, recursive: true})
      await symlink(join(repoRoot, 'node_modules', tool), join(plugin, 'node_modules', tool))
    }
  })

  after(async () => {
    if (work) await rm(work, {force: true, recursive: true})
  })

  it("type-checks and passes the plugin's own unit tests and the example in docs/plugins.md", async () => {
    // The packed kudev, not a link back to this repository.
    expect((await lstat(join(plugin, 'node_modules', 'kudev'))).isDirectory()).to.equal(true)
    await execa(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], {cwd: plugin})
    const result = await mocha(['test/*.test.ts'])
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.equal(0)
    for (const suite of ['podman builder', 'podman plugin registration', 'podman builder: inspect']) {
      expect(result.stdout).to.include(`\n  ${suite}\n`)
    }

    expect(Number(/(\d+) passing/.exec(result.stdout)?.[1])).to.be.above(20)
  })

  it('fails a test whose expectation is wrong', async () => {
    await writeFile(
      join(plugin, 'test', 'wrong.test.ts'),
      `import {expect} from 'chai'
import {fakeToolkit} from 'kudev/testing'

import {PodmanBuilder} from '../src/builder.js'

it('finds an image podman does not have', async () => {
  expect(await new PodmanBuilder(fakeToolkit(() => ({exitCode: 1}))).inspect('shop:1')).to.not.equal(undefined)
})
`,
    )
    const result = await mocha(['test/wrong.test.ts'])
    expect(result.exitCode).to.equal(1)
    expect(result.stdout)
      .to.include('0 passing')
      .and.include('1 failing')
      .and.include('finds an image podman does not have')
  })
})

/**
 * The plugin's lock: the packed kudev and the plugins it bundles, and every other package kudev needs at the
 * version this repository's lock has, whose tarballs `npm ci` left in npm's cache.
 */
async function lockFile(
  root: Manifest & {devDependencies: Record<string, string>},
  packed: Packed[],
  file: (name: string) => string,
): Promise<object> {
  const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>
  }
  const packages: Record<string, object> = {'': root}
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Dev tools are this repository's, and its workspaces are links: neither is what kudev's users install.
    if (path.startsWith('node_modules/') && !entry.dev && !entry.devOptional && !entry.link) {
      packages[path] = {...entry, dev: true}
    }
  }

  for (const {name, version} of packed) {
    const dependencies = name === 'kudev' ? lock.packages['']!.dependencies : undefined
    packages[`node_modules/${name}`] = {dependencies, dev: true, resolved: file(name), version}
  }

  return {lockfileVersion: 3, name: root.name, packages, requires: true, version: root.version}
}

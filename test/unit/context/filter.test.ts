import {expect} from 'chai'
import {chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {DEFAULT_IGNORE_FILE, DEFAULT_IGNORE_RULES, DEFAULT_IGNORE_TEXT} from '../../../src/context/defaults.js'
import {loadContextFilter, type ContextFilter, type Decision} from '../../../src/context/filter.js'
import {rejection} from '../config/helpers.js'

const made: string[] = []

/** A temp folder holding `files` (path → content; a trailing "/" makes a folder). */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'kudev-filter-')))
  made.push(dir)
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    if (name.endsWith('/')) {
      await mkdir(file, {recursive: true})
      continue
    }
    await mkdir(path.dirname(file), {recursive: true})
    await writeFile(file, content)
  }
  return dir
}

async function load(
  contextDir: string,
  options: {dockerfile?: string; exclusions?: string[]} = {},
): Promise<ContextFilter> {
  return loadContextFilter({
    contextDir,
    dockerfile: options.dockerfile ?? path.join(contextDir, 'Dockerfile'),
    exclusions: options.exclusions ?? [],
    configFile: path.join(contextDir, '.kudev.yaml'),
  })
}

/** Decides `relPath` the way a walker does: each parent folder first, its decision handed down. */
function walk(filter: ContextFilter, relPath: string, isDir = false): Decision {
  const parts = relPath.split('/')
  let parent: Decision | undefined
  for (let index = 1; index < parts.length; index++)
    parent = filter.decide(parts.slice(0, index).join('/'), true, parent)
  return filter.decide(relPath, isDir, parent)
}

const isExcluded = (filter: ContextFilter, relPath: string, isDir = false): boolean =>
  walk(filter, relPath, isDir).excluded

describe('context: filter', () => {
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, {recursive: true, force: true})))
  })

  describe('choosing the ignore file', () => {
    it('prefers <Dockerfile>.dockerignore over the root .dockerignore (no merging)', async () => {
      const dir = await tree({Dockerfile: '', 'Dockerfile.dockerignore': 'b\n', '.dockerignore': 'a\n'})
      const filter = await load(dir)
      expect(filter.source).to.equal('dockerignore')
      expect(filter.ignoreFile?.path).to.equal(path.join(dir, 'Dockerfile.dockerignore'))
      expect(isExcluded(filter, 'b')).to.equal(true)
      expect(isExcluded(filter, 'a')).to.equal(false)
    })

    it('uses the name of the Dockerfile: api.Dockerfile → api.Dockerfile.dockerignore', async () => {
      const dir = await tree({
        'api.Dockerfile': '',
        'api.Dockerfile.dockerignore': 'web\n',
        'Dockerfile.dockerignore': 'api\n',
        '.dockerignore': 'x\n',
      })
      const filter = await load(dir, {dockerfile: path.join(dir, 'api.Dockerfile')})
      expect(filter.ignoreFile?.path).to.equal(path.join(dir, 'api.Dockerfile.dockerignore'))
      expect(isExcluded(filter, 'web/index.html')).to.equal(true)
      expect(isExcluded(filter, 'api/main.go')).to.equal(false)
      expect(isExcluded(filter, 'x')).to.equal(false)
    })

    it('uses the root .dockerignore when there is no Dockerfile-specific one, keeping its exact bytes', async () => {
      const text = '\uFEFF# comment\r\nnode_modules\r\n'
      const dir = await tree({Dockerfile: '', '.dockerignore': text})
      const filter = await load(dir)
      expect(filter.ignoreFile?.path).to.equal(path.join(dir, '.dockerignore'))
      expect(filter.ignoreFile?.text).to.equal(text)
      expect(Buffer.from(filter.ignoreFile?.bytes ?? []).equals(Buffer.from(text, 'utf8'))).to.equal(true)
      expect(isExcluded(filter, 'node_modules/x/index.js')).to.equal(true)
    })

    it('looks for the Dockerfile-specific file next to a Dockerfile outside the context; patterns stay relative to the context', async () => {
      const root = await tree({
        'docker/Dockerfile': '',
        'docker/Dockerfile.dockerignore': 'secrets\ndocker\n',
        'app/.dockerignore': 'src\n',
        'app/secrets/key': '',
      })
      const filter = await load(path.join(root, 'app'), {dockerfile: path.join(root, 'docker', 'Dockerfile')})
      expect(filter.ignoreFile?.path).to.equal(path.join(root, 'docker', 'Dockerfile.dockerignore'))
      expect(isExcluded(filter, 'secrets/key')).to.equal(true)
      expect(isExcluded(filter, 'src/main.go')).to.equal(false)
    })

    it('falls back to the context root .dockerignore (not the Dockerfile folder) for a Dockerfile outside the context', async () => {
      const root = await tree({'docker/Dockerfile': '', 'docker/.dockerignore': 'src\n', 'app/.dockerignore': 'tmp\n'})
      const filter = await load(path.join(root, 'app'), {dockerfile: path.join(root, 'docker', 'Dockerfile')})
      expect(filter.ignoreFile?.path).to.equal(path.join(root, 'app', '.dockerignore'))
      expect(isExcluded(filter, 'tmp/x')).to.equal(true)
      expect(isExcluded(filter, 'src/x')).to.equal(false)
    })

    it("applies kudev's defaults when there is no ignore file", async () => {
      const dir = await tree({Dockerfile: ''})
      const filter = await load(dir)
      expect(filter.source).to.equal('defaults')
      expect(filter.ignoreFile).to.equal(undefined)
      expect(filter.rules).to.equal(DEFAULT_IGNORE_RULES)
      const decision = walk(filter, 'web/node_modules/react/index.js')
      expect(decision.excluded).to.equal(true)
      expect(decision.reason).to.deep.equal({
        source: 'defaults',
        pattern: '**/node_modules',
        file: DEFAULT_IGNORE_FILE,
        line: 6,
      })
      expect(isExcluded(filter, '.git', true)).to.equal(true)
      expect(isExcluded(filter, 'sub/.git/config')).to.equal(true)
      expect(isExcluded(filter, '.kudev.yaml')).to.equal(true)
      expect(isExcluded(filter, 'sub/.kudev.yaml'), 'only the root .kudev.yaml').to.equal(false)
      expect(isExcluded(filter, 'logs/app.log')).to.equal(true)
      expect(isExcluded(filter, 'src/main.go~')).to.equal(true)
      expect(isExcluded(filter, 'src/.main.go.swp')).to.equal(true)
      expect(isExcluded(filter, 'src/.DS_Store')).to.equal(true)
      expect(isExcluded(filter, '.vscode/settings.json')).to.equal(true)
      expect(isExcluded(filter, 'src/main.go')).to.equal(false)
      expect(isExcluded(filter, 'Dockerfile')).to.equal(false)
    })

    it('exports the defaults as text and as rules from that text', () => {
      expect(DEFAULT_IGNORE_RULES.map((rule) => rule.text)).to.deep.equal([
        '**/.git',
        '**/.gitignore',
        '**/node_modules',
        '**/vendor',
        '.kudev.yaml',
        '**/*.log',
        '**/.DS_Store',
        '**/Thumbs.db',
        '**/*.swp',
        '**/*~',
        '**/.idea',
        '**/.vscode',
      ])
      for (const rule of DEFAULT_IGNORE_RULES)
        expect(DEFAULT_IGNORE_TEXT.split('\n')[rule.line - 1]).to.equal(rule.text)
    })

    it('does not add the defaults to a project ignore file', async () => {
      const dir = await tree({'.dockerignore': 'tmp\n'})
      const filter = await load(dir)
      expect(isExcluded(filter, 'node_modules/x')).to.equal(false)
    })

    it('follows a symlinked .dockerignore, resolving it inside the context like BuildKit', async () => {
      const dir = await tree({'config/ignore-rules': 'build\n', 'abs-rules': 'dist\n'})
      await symlink('config/ignore-rules', path.join(dir, '.dockerignore'))
      expect(isExcluded(await load(dir), 'build/out')).to.equal(true)
      await rm(path.join(dir, '.dockerignore'))
      // An absolute target counts from the context root.
      await symlink('/abs-rules', path.join(dir, '.dockerignore'))
      const filter = await load(dir)
      expect(filter.ignoreFile?.path).to.equal(path.join(dir, '.dockerignore'))
      expect(isExcluded(filter, 'dist/app.js')).to.equal(true)
    })

    it('treats a dangling .dockerignore symlink as no file', async () => {
      const dir = await tree({})
      await symlink('missing', path.join(dir, '.dockerignore'))
      expect((await load(dir)).source).to.equal('defaults')
    })

    it('reports an ignore file that cannot be read, naming it', async () => {
      const dir = await tree({'.dockerignore/': ''})
      const error = await rejection(load(dir))
      expect(error.code).to.equal('config')
      expect(error.message).to.equal(`cannot read ${path.join(dir, '.dockerignore')} (it is a folder)`)
      expect(error.hint).to.include('delete it')
    })

    it('reports an ignore file without read permission', async function () {
      if (process.getuid?.() === 0) this.skip()
      const dir = await tree({'Dockerfile.dockerignore': 'x\n'})
      await chmod(path.join(dir, 'Dockerfile.dockerignore'), 0o000)
      const error = await rejection(load(dir))
      expect(error.message).to.equal(`cannot read ${path.join(dir, 'Dockerfile.dockerignore')} (permission denied)`)
    })

    it('reports an invalid pattern with the file and line', async () => {
      const dir = await tree({'.dockerignore': '# ok\nnode_modules\nsrc/[\n'})
      const error = await rejection(load(dir))
      expect(error.code).to.equal('config')
      expect(error.message).to.equal(
        `${path.join(dir, '.dockerignore')}:3: invalid pattern "src/[": a character class "[" is not closed`,
      )
    })
  })

  describe('buildContextExclusions on top', () => {
    it('excludes what they match, in .gitignore syntax, reporting the config entry', async () => {
      const dir = await tree({'.dockerignore': 'tmp\n'})
      const filter = await load(dir, {exclusions: ['coverage/', '*.md']})
      const decision = walk(filter, 'docs/guide.md')
      expect(decision.excluded, 'no slash: any depth, unlike .dockerignore').to.equal(true)
      expect(decision.reason).to.deep.equal({
        source: 'buildContextExclusions',
        pattern: '*.md',
        file: path.join(dir, '.kudev.yaml'),
        line: 2,
        field: 'spec.buildContextExclusions[1]',
      })
      expect(isExcluded(filter, 'coverage', true)).to.equal(true)
      expect(isExcluded(filter, 'coverage/lcov.info')).to.equal(true)
      expect(isExcluded(filter, 'coverage'), 'a file named coverage is not a folder').to.equal(false)
      expect(isExcluded(filter, 'README.MD'), 'case-sensitive').to.equal(false)
      expect(isExcluded(filter, 'tmp/x')).to.equal(true)
    })

    it('wins over a "!" rule of the ignore file', async () => {
      const dir = await tree({'.dockerignore': 'secrets\n!secrets/public.pem\n*.md\n!README.md\n'})
      const filter = await load(dir, {exclusions: ['secrets/', 'README.md']})
      expect(isExcluded(filter, 'secrets/public.pem')).to.equal(true)
      expect(walk(filter, 'README.md').reason?.source).to.equal('buildContextExclusions')
      expect(filter.mustDescend('secrets', walk(filter, 'secrets', true))).to.equal(false)
    })

    it('has "!" rules that only undo its own entries', async () => {
      const dir = await tree({'.dockerignore': 'docs\n'})
      const filter = await load(dir, {exclusions: ['*.md', '!README.md']})
      expect(isExcluded(filter, 'README.md')).to.equal(false)
      expect(isExcluded(filter, 'CHANGELOG.md')).to.equal(true)
      expect(isExcluded(filter, 'docs/README.md'), '.dockerignore still excludes docs').to.equal(true)
    })

    it('reports the ignore-file reason when only the ignore file excludes', async () => {
      const dir = await tree({'.dockerignore': '# x\n*.log\n'})
      const filter = await load(dir, {exclusions: ['tmp/']})
      expect(walk(filter, 'app.log').reason).to.deep.equal({
        source: 'dockerignore',
        pattern: '*.log',
        file: path.join(dir, '.dockerignore'),
        line: 2,
      })
    })
  })

  describe('decisions', () => {
    it('never excludes the root', async () => {
      const filter = await load(await tree({'.dockerignore': '*\n**\n'}), {exclusions: ['*']})
      expect(filter.decide('', true).excluded).to.equal(false)
      expect(filter.decide('.', true).excluded).to.equal(false)
    })

    it("reuse the parent folder's decision", async () => {
      const dir = await tree({'.dockerignore': 'docs\n!docs/README.md\n'})
      const filter = await load(dir, {exclusions: ['vendor/']})
      const docs = filter.decide('docs', true)
      const src = filter.decide('src', true)
      expect(filter.decide('docs/guide.md', false, docs).excluded).to.equal(true)
      // Handed another folder's decision, the child follows it: the parent is not tested again.
      expect(filter.decide('docs/guide.md', false, src).excluded).to.equal(false)
      const vendor = filter.decide('vendor', true)
      expect(filter.decide('vendor/lib.go', false, vendor).reason?.field).to.equal('spec.buildContextExclusions[0]')
    })

    it('give the same answer with or without the parent decision', async () => {
      const dir = await tree({'.dockerignore': '**\n!web\n*.md\n!docs/**\ndocs/private\n'})
      const filter = await load(dir, {exclusions: ['tmp/', '*.bak', '!keep.bak']})
      const paths = [
        'notes.md',
        'web',
        'web/x',
        'web/x/y.md',
        'docs',
        'docs/a.md',
        'docs/private',
        'docs/private/k',
        'tmp',
        'tmp/x',
        'web/tmp',
        'web/tmp/z',
        'web/a.bak',
        'web/keep.bak',
      ]
      const dirs = new Set(['web', 'web/x', 'docs', 'docs/private', 'tmp', 'web/tmp'])
      const decided = new Map<string, Decision>()
      for (const relPath of paths) {
        const parentPath = relPath.includes('/') ? relPath.slice(0, relPath.lastIndexOf('/')) : undefined
        const withParent = filter.decide(
          relPath,
          dirs.has(relPath),
          parentPath === undefined ? undefined : decided.get(parentPath),
        )
        decided.set(relPath, withParent)
        const alone = filter.decide(relPath, dirs.has(relPath))
        expect({excluded: alone.excluded, reason: alone.reason}, relPath).to.deep.equal({
          excluded: withParent.excluded,
          reason: withParent.reason,
        })
      }
      expect(decided.get('web/x/y.md')?.excluded, '"*.md" only matches at the root').to.equal(false)
      expect(decided.get('notes.md')?.excluded).to.equal(true)
      expect(decided.get('docs/a.md')?.excluded).to.equal(false)
      expect(decided.get('docs/a.md')?.reincludedBy).to.include({pattern: '!docs/**', line: 4})
      expect(decided.get('docs/private/k')?.excluded).to.equal(true)
      expect(decided.get('web/tmp/z')?.reason?.source).to.equal('buildContextExclusions')
      expect(decided.get('web/keep.bak')?.excluded).to.equal(false)
    })
  })

  describe('mustDescend', () => {
    it('is false for an excluded folder no "!" rule can reach', async () => {
      const filter = await load(await tree({'.dockerignore': 'node_modules\n*\n!src/**\n'}))
      expect(filter.mustDescend('node_modules', walk(filter, 'node_modules', true))).to.equal(false)
      expect(filter.mustDescend('lib', walk(filter, 'lib', true))).to.equal(false)
    })

    it('is true when a "!" rule may re-include something below', async () => {
      const filter = await load(await tree({'.dockerignore': '*\n!**/*.py\n!docker/*/Dockerfile\n'}))
      expect(filter.mustDescend('lib', walk(filter, 'lib', true))).to.equal(true)
      expect(isExcluded(filter, 'lib/x.py')).to.equal(false)
    })

    it('is true for a folder that is not excluded', async () => {
      const filter = await load(await tree({'.dockerignore': 'tmp\n'}))
      expect(filter.mustDescend('src', walk(filter, 'src', true))).to.equal(true)
    })

    it('is false below a folder excluded by buildContextExclusions, whatever the "!" rules', async () => {
      const filter = await load(await tree({'.dockerignore': '*\n!**/*.py\n'}), {exclusions: ['scripts/']})
      expect(filter.mustDescend('scripts', walk(filter, 'scripts', true))).to.equal(false)
    })
  })
})

import {expect} from 'chai'
import {join} from 'node:path'

import {loadContextFilter} from '../../../src/context/filter.js'
import {sortPaths, type Triggers} from '../../../src/watch/triggers.js'
import {ignoredFolders, watchFailed} from '../../../src/watch/watcher.js'
import {makeTree, projectConfig, tempFolder} from '../../support/tree.js'

describe('watch triggers', () => {
  let dir: string
  let remove: () => Promise<void>
  before(async () => {
    ;({dir, remove} = await tempFolder('triggers'))
    await makeTree(dir, {
      'app/.dockerignore': 'logs\nnode_modules\n!logs/keep.log\n*.md\n',
      'app/Dockerfile': 'FROM scratch\n',
      'app/src/index.js': 'x',
      'app/logs/keep.log': 'kept',
      'app/logs/drop.log': 'dropped',
    })
  })
  after(() => remove())

  /** Sorts `paths` (relative to dir) for a context at dir/app with the Dockerfile inside and .kudev.yaml above it. */
  async function sorted(paths: string[], exclusions: string[] = []): Promise<Triggers> {
    const project = projectConfig(
      dir,
      {buildContextExclusions: exclusions},
      {buildContext: join(dir, 'app'), dockerfile: join(dir, 'app', 'Dockerfile')},
    )
    const filter = await loadContextFilter({
      contextDir: project.buildContext,
      dockerfile: project.dockerfile,
      exclusions,
    })
    const into: Triggers = {context: new Set(), inputs: new Set()}
    sortPaths(
      paths.map((path) => join(dir, path)),
      project,
      filter,
      into,
    )
    return into
  }

  it('keeps the context entries the tag covers, relative to the context', async () => {
    const {context, inputs} = await sorted(['app/src/index.js', 'app/src/gone.js', 'app/src', 'app'])
    expect([...context].sort()).to.deep.equal(['', 'src', 'src/gone.js', 'src/index.js'])
    expect(inputs.size).to.equal(0)
  })

  it('drops ignored files, and files below ignored folders, but not a `!` re-include below one', async () => {
    const {context} = await sorted([
      'app/logs/drop.log',
      'app/logs/keep.log',
      'app/node_modules/a/index.js',
      'app/README.md',
      'other/file.txt',
    ])
    expect([...context]).to.deep.equal(['logs/keep.log'])
  })

  it('drops what spec.buildContextExclusions leaves out', async () => {
    const {context} = await sorted(['app/src/index.js', 'app/src/index.test.js'], ['*.test.js'])
    expect([...context]).to.deep.equal(['src/index.js'])
  })

  it('names the build inputs outside the entries: .kudev.yaml, the Dockerfile, the ignore files', async () => {
    const {context, inputs} = await sorted([
      '.kudev.yaml',
      'app/Dockerfile',
      'app/Dockerfile.dockerignore',
      'app/.dockerignore',
    ])
    expect([...inputs].sort()).to.deep.equal(
      ['.kudev.yaml', 'app/.dockerignore', 'app/Dockerfile', 'app/Dockerfile.dockerignore']
        .map((path) => join(dir, path))
        .sort(),
    )
    // Inside the context they are entries too, unless ignored.
    expect([...context].sort()).to.deep.equal(['.dockerignore', 'Dockerfile', 'Dockerfile.dockerignore'])
  })
})

describe('ignoredFolders', () => {
  it('lists the top-level folders the rules leave out whole, not one a `!` rule reaches into', async () => {
    const {dir, remove} = await tempFolder('ignored')
    try {
      await makeTree(dir, {
        '.dockerignore': 'node_modules\n.git\nlogs\n!logs/keep.log\n',
        'node_modules/a/index.js': 'x',
        '.git/HEAD': 'ref',
        'logs/keep.log': 'kept',
        'src/index.js': 'x',
      })
      const project = projectConfig(dir)
      const filter = await loadContextFilter({contextDir: dir, dockerfile: project.dockerfile, exclusions: []})
      expect(ignoredFolders(project, filter).sort()).to.deep.equal([join(dir, '.git'), join(dir, 'node_modules')])
    } finally {
      await remove()
    }
  })
})

describe('watchFailed', () => {
  it('names the sysctl to raise when inotify watches run out', () => {
    const error = watchFailed('/p', new Error('inotify_add_watch on /p/x failed: No space left on device'))
    expect(error.code).to.equal('watch')
    expect(error.message).to.equal("cannot watch /p: the system's limit of inotify watches is reached")
    expect(error.hint).to.match(/^raise it: sudo sysctl fs.inotify.max_user_watches=524288/)
  })

  it('names max_user_instances when inotify instances run out, and passes anything else on', () => {
    expect(watchFailed('/p', new Error('EMFILE: too many open files')).hint).to.include('fs.inotify.max_user_instances')
    expect(watchFailed('/p', new Error('boom')).message).to.equal('cannot watch /p: boom')
  })
})

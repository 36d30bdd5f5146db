import {expect} from 'chai'
import {join} from 'node:path'

import {hashBuildContext} from '../../../src/hash/index.js'
import {explain, listLines, renderExplanation} from '../../../src/hash/report.js'
import {formatBytes} from '../../../src/output/units.js'
import {createLogger} from '../../../src/output/logger.js'
import {makeTree, projectConfig, tempFolder, type TreeSpec} from '../../support/tree.js'

async function explained(spec: TreeSpec, exclusions: string[] = []) {
  const {dir, remove} = await tempFolder('report')
  try {
    await makeTree(dir, spec)
    const result = await hashBuildContext(projectConfig(dir, {buildContextExclusions: exclusions}), {
      explain: true,
      logger: createLogger('error', {write: () => true}),
      noCache: true,
    })
    return {dir, explanation: explain(result), result}
  } finally {
    await remove()
  }
}

describe('hash report', () => {
  it('formats bytes in decimal units', () => {
    expect([0, 999, 1000, 1500, 12_345_678, 780_000_000, 2e12].map((bytes) => formatBytes(bytes))).to.deep.equal([
      '0 B',
      '999 B',
      '1.0 kB',
      '1.5 kB',
      '12 MB',
      '780 MB',
      '2.0 TB',
    ])
  })

  it('lists folders with a trailing slash and quotes names with control characters', async () => {
    const {result} = await explained({'.dockerignore': '', Dockerfile: 'FROM scratch\n', 'a/b': 'b', 'new\nline': 'n'})
    expect(listLines(result)).to.deep.equal(['.dockerignore', 'Dockerfile', 'a/', 'a/b', '"new\\nline"'])
  })

  it('names the rule and the file:line that excluded each path, with counts and bytes', async () => {
    const {dir, explanation, result} = await explained(
      {
        '.dockerignore': 'dist\n*.log\n',
        Dockerfile: 'FROM scratch\n',
        'dist/app.js': '12345',
        'debug.log': '12',
        'tmp/t': 't',
        'src/a.js': 'a',
      },
      ['tmp/'],
    )
    expect(explanation.excluded).to.deep.equal([
      {
        bytes: 2,
        files: 1,
        isDir: false,
        path: 'debug.log',
        pattern: '*.log',
        source: 'dockerignore',
        where: `${join(dir, '.dockerignore')}:2`,
      },
      {
        bytes: 5,
        files: 1,
        isDir: true,
        path: 'dist',
        pattern: 'dist',
        source: 'dockerignore',
        where: `${join(dir, '.dockerignore')}:1`,
      },
      {
        bytes: 1,
        files: 1,
        isDir: true,
        path: 'tmp',
        pattern: 'tmp/',
        source: 'buildContextExclusions',
        where: `spec.buildContextExclusions[0] in ${join(dir, '.kudev.yaml')}`,
      },
    ])
    expect(explanation).to.include({excludedBytes: 8, excludedFiles: 3})
    const text = renderExplanation(result, explanation)
    expect(text).to.include('Excluded: 3 paths (3 files, 8 B)')
    expect(text).to.match(/ {2}dist\/ +1 file +5 B +dist +\S+\.dockerignore:1/)
  })

  it("names kudev's own configuration as the reason .kudev.yaml is left out", async () => {
    const {explanation, result} = await explained({
      '.dockerignore': '',
      '.kudev.yaml': 'spec: {}\n',
      Dockerfile: 'FROM scratch\n',
    })
    expect(explanation.excluded).to.deep.equal([
      {
        bytes: 9,
        files: 1,
        isDir: false,
        path: '.kudev.yaml',
        pattern: '.kudev.yaml',
        source: 'kudev',
        where: "kudev's own configuration, never in the build context",
      },
    ])
    expect(renderExplanation(result, explanation)).to.include("kudev's own configuration, never in the build context")
  })

  it('shows the largest folders, biggest first', async () => {
    const {explanation} = await explained({
      '.dockerignore': '',
      Dockerfile: 'FROM scratch\n',
      'big/x': 'x'.repeat(300),
      'big/sub/y': 'y'.repeat(200),
      'small/z': 'z',
    })
    expect(explanation.largestFolders).to.deep.equal([
      {bytes: 500, files: 2, path: 'big'},
      {bytes: 200, files: 1, path: 'big/sub'},
      {bytes: 1, files: 1, path: 'small'},
    ])
  })

  it('hints at .git and node_modules in the context, outermost only', async () => {
    const {explanation} = await explained({
      '.dockerignore': '*.tmp\n',
      Dockerfile: 'FROM scratch\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      'node_modules/a/index.js': 'x',
      'node_modules/a/node_modules/b/index.js': 'y',
      'web/node_modules/c.js': 'z',
    })
    expect(explanation.hints).to.deep.equal([
      '.git/ is in the build context (1 file, 21 B): add `.git` to .dockerignore unless the image needs it (the image rarely needs the repository history)',
      'node_modules/ is in the build context (2 files, 2 B): add `node_modules` to .dockerignore unless the image needs it (the image should install its own dependencies)',
      'web/node_modules/ is in the build context (1 file, 1 B): add `**/node_modules` to .dockerignore unless the image needs it (the image should install its own dependencies)',
    ])
  })

  it("gives no hint when kudev's defaults keep them out", async () => {
    const {explanation, result} = await explained({
      Dockerfile: 'FROM scratch\n',
      '.git/HEAD': 'ref',
      'node_modules/a.js': 'x',
    })
    expect(explanation.hints).to.deep.equal([])
    expect(renderExplanation(result, explanation)).to.include("Ignore rules: kudev's defaults (no .dockerignore)")
  })
})

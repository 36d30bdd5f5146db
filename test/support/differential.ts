/**
 * The differential check: what a builder copies with `COPY . /ctx/` against `kudev hash --list`, over trees
 * whose .dockerignore or spec.buildContextExclusions trip gitignore-minded matchers. Shared by
 * test/integration/differential.test.ts (Docker) and podman-differential.test.ts (podman).
 */
import {execa} from 'execa'
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {type CleanupRegistry, uniqueName} from './docker.js'

export interface Case {
  name: string
  ignore: string
  files: string[]
  /** Paths the classic builder copies differently: kudev follows BuildKit (research/dockerignore-semantics.md). */
  classic?: {missing?: string[]}
  /**
   * Paths Docker 20.10's BuildKit (the engine Debian 12 ships, used here) copies differently: its fsutil
   * predates the walker that evaluates non-prefix exceptions below excluded folders; kudev follows current
   * BuildKit (Docker 23+).
   */
  buildkit2010?: {missing?: string[]}
}

// Trees whose .dockerignore trips gitignore-minded matchers, and where the classic builder and BuildKit part.
export const CASES: Case[] = [
  {
    files: ['node_modules/x.js', 'a/node_modules/x.js', 'app.js'],
    ignore: 'node_modules',
    name: 'a bare name matches only at the root',
  },
  {files: ['README.md', 'CHANGES.md', 'docs/notes.md'], ignore: '*.md\n!README.md', name: '* does not cross folders'},
  {
    files: ['docs/README.md', 'docs/guide.md', 'src/a.go'],
    ignore: 'docs\n!docs/README.md',
    name: '! re-includes below an excluded folder',
  },
  {
    buildkit2010: {missing: ['sub/', 'sub/x.py']},
    classic: {missing: ['sub/', 'sub/x.py']},
    files: ['x.py', 'sub/x.py', 'sub/y.txt'],
    ignore: '*\n!Dockerfile\n!**/*.py',
    name: '!**/*.py re-includes at any depth (not on the classic builder nor on the BuildKit of Docker 20.10)',
  },
  {
    buildkit2010: {missing: ['docker/app/', 'docker/app/Dockerfile.app']},
    classic: {missing: ['docker/', 'docker/app/', 'docker/app/Dockerfile.app']},
    files: ['docker/app/Dockerfile.app', 'docker/app/x'],
    ignore: '*\n!Dockerfile\n!docker/*/Dockerfile.app',
    name: 'a wildcard folder in an exception (not on the classic builder nor on the BuildKit of Docker 20.10)',
  },
  {files: ['web/x/y', 'util/z'], ignore: '**\n!Dockerfile\n!web', name: '** then ! a folder'},
  {
    files: ['ignored/file', 'ignored/sub/file', 'kept'],
    ignore: 'ignored/*\n!ignored/*/',
    name: 'a trailing slash is dropped from an exception',
  },
  {files: ['a/dir/file.txt', 'a/file.txt', 'b/file.txt'], ignore: 'a**/*.txt', name: 'a** followed by a path'},
  {files: ['foo', 'bar/foo'], ignore: 'foo/', name: 'foo/ also excludes a file named foo'},
  {
    files: ['node_modules/x', 'bar', 'baz', ' foo'],
    ignore: ' bar\n./node_modules\nfoo/../baz',
    name: 'patterns are trimmed and cleaned',
  },
  {files: ['xbc', '!bc', 'abc'], ignore: '[!a]bc', name: '[!a] means ! or a'},
  {files: ['README.md', 'readme.md'], ignore: 'README.md', name: 'matching is case-sensitive'},
  {
    files: ['temp1', 'a/temp2', 'somedir/temporary.txt', 'a/b/temp'],
    ignore: '*/temp*\ntemp?',
    name: 'a wildcard folder level',
  },
]

export function expectedByKudev(lines: string): string[] {
  return lines.split('\n').filter(Boolean).sort()
}

/** The paths under /ctx/ of an image in Docker's store, sorted (`docker export`: FROM scratch images too). */
export async function imageFiles(image: string): Promise<string[]> {
  const {stdout: id} = await execa('docker', ['create', image, 'true'])
  try {
    const exported = await execa('sh', ['-c', `docker export ${id.trim()} | tar -t`])
    return exported.stdout
      .split('\n')
      .filter((line) => line.startsWith('ctx/') && line !== 'ctx/')
      .map((line) => line.slice(4))
      .sort()
  } finally {
    await execa('docker', ['rm', '-f', id.trim()])
  }
}

/** `spec.buildContextExclusions` are .gitignore rules, which .dockerignore reads differently. */
export const EXCLUSION_CASES: {name: string; exclusions: string[]; files: string[]}[] = [
  {
    exclusions: ['*.md', '!README.md'],
    files: ['README.md', 'CHANGES.md', 'docs/notes.md', 'docs/README.md', 'app.js'],
    name: 'exclusions: *.md at any depth, ! re-includes a name at any depth',
  },
  {
    exclusions: ['build/'],
    files: ['build/out.js', 'sub/build', 'sub/build2/x', 'app.js'],
    name: 'exclusions: build/ is folders only, at any depth',
  },
  {
    exclusions: ['logs', '!logs/keep.txt'],
    files: ['logs/a.txt', 'logs/keep.txt', 'app.js'],
    name: 'exclusions: nothing comes back from inside an excluded folder',
  },
]

/**
 * A project in a fresh temporary folder: `files` (each holding its own path), `Dockerfile` (`FROM scratch`,
 * `COPY . /ctx/`), `.dockerignore` holding `ignore` (none when undefined) and .kudev.yaml with `exclusions`.
 */
export async function differentialProject(
  cleanup: CleanupRegistry,
  files: string[],
  ignore: string | undefined,
  exclusions: string[] = [],
): Promise<string> {
  const dir = await cleanup.tempDir('kudev-diff-build-')
  for (const file of files) {
    await mkdir(join(dir, dirname(file)), {recursive: true})
    await writeFile(join(dir, file), file)
  }

  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n')
  if (ignore !== undefined) await writeFile(join(dir, '.dockerignore'), `${ignore}\n.kudev.yaml\n`)
  const image = `kudev-test/${uniqueName('diff-build')}`
  await writeFile(
    join(dir, '.kudev.yaml'),
    `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: diff}\nspec: {imageName: ${image}, buildContextExclusions: ${JSON.stringify(exclusions)}}\n`,
  )
  return dir
}

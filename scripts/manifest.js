#!/usr/bin/env node
// Writes oclif.manifest.json from the built commands, as `oclif manifest` does, without the oclif
// generator's heavy dependency tree: kudev's (committed; `--check` exits 1 when it is stale) and one per
// bundled plugin (written at build, like dist/). A plugin without one costs every start two failed reads
// and oclif's fallback; with them, `kudev --help` starts about 5 ms sooner (docs/benchmarks.md).
import {Plugin} from '@oclif/core'
import {readdir, readFile, rename, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const file = join(root, 'oclif.manifest.json')

export async function buildManifest(pluginRoot = root) {
  const plugin = new Plugin({
    errorOnManifestCreate: true,
    ignoreManifest: true,
    isRoot: true,
    respectNoCacheDefault: true,
    root: pluginRoot,
    type: 'core',
  })
  await plugin.load()
  return JSON.stringify(plugin.manifest, null, 2) + '\n'
}

async function writeManifest(pluginRoot) {
  const target = join(pluginRoot, 'oclif.manifest.json')
  await writeFile(`${target}.tmp`, await buildManifest(pluginRoot))
  await rename(`${target}.tmp`, target)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const committed = await readFile(file, 'utf8').catch(() => '')
    if (committed !== (await buildManifest())) {
      process.stderr.write('oclif.manifest.json is stale: run `npm run build` and commit it\n')
      process.exit(1)
    }
  } else {
    const plugins = await readdir(join(root, 'plugins'), {withFileTypes: true})
    await writeManifest(root)
    for (const entry of plugins) if (entry.isDirectory()) await writeManifest(join(root, 'plugins', entry.name))
  }
}

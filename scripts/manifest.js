#!/usr/bin/env node
// Writes oclif.manifest.json from the built commands, as `oclif manifest` does, without the oclif
// generator's heavy dependency tree. `--check` exits 1 when the committed manifest is stale.
import {Plugin} from '@oclif/core'
import {readFile, rename, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const file = join(root, 'oclif.manifest.json')

export async function buildManifest() {
  const plugin = new Plugin({
    errorOnManifestCreate: true,
    ignoreManifest: true,
    isRoot: true,
    respectNoCacheDefault: true,
    root,
    type: 'core',
  })
  await plugin.load()
  return JSON.stringify(plugin.manifest, null, 2) + '\n'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const manifest = await buildManifest()
  if (process.argv.includes('--check')) {
    const committed = await readFile(file, 'utf8').catch(() => '')
    if (committed !== manifest) {
      process.stderr.write('oclif.manifest.json is stale: run `npm run build` and commit it\n')
      process.exit(1)
    }
  } else {
    await writeFile(`${file}.tmp`, manifest)
    await rename(`${file}.tmp`, file)
  }
}

import {expect} from 'chai'
import path from 'node:path'

import {deriveProjectName, starterConfig, validateConfig} from '../../../src/config/index.js'
import {checkDnsLabel} from '../../../src/config/rules.js'
import {SPEC_FIELDS} from '../../../src/config/schema.js'
import {rejection, tempDirs} from './helpers.js'

describe('config: starter file', () => {
  const temp = tempDirs()
  afterEach(() => temp.cleanup())

  it('validates when a Dockerfile exists, and uses the name for the Deployment and the image', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const text = starterConfig({name: 'shop-api'})
    expect(await validateConfig(text, path.join(dir, '.kudev.yaml'))).to.deep.equal([])
    expect(text).to.match(/^metadata:\n(?: {2}#.*\n)+ {2}name: shop-api$/m)
    expect(text).to.match(/^ {2}imageName: shop-api$/m)
  })

  it('still validates with every optional setting uncommented', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const text = starterConfig({name: 'shop-api'})
    const split = text.indexOf('  # Optional settings')
    expect(split).to.be.greaterThan(0)
    const [required, optional] = [text.slice(0, split), text.slice(split)]
    const uncommented = optional
      .replaceAll(/^ {2}# ( *[A-Za-z]+: .*)$/gm, '  $1')
      .replaceAll(/^ {2}# (buildArgs:)$/gm, '  $1')
    expect(uncommented).to.include('\n  buildArgs:\n    VERSION: "1.0"\n')
    expect(uncommented).to.include('\n  env: [{name: LOG_LEVEL, value: debug}]\n')
    expect(await validateConfig(required + uncommented, path.join(dir, '.kudev.yaml'))).to.deep.equal([])
  })

  it('mentions and explains every spec field', () => {
    const lines = starterConfig({name: 'shop-api'}).split('\n')
    for (const field of SPEC_FIELDS) {
      const index = lines.findIndex((line) => new RegExp(`^ {2}(# )?${field}:`).test(line))
      expect(index, field).to.be.greaterThan(0)
      expect(lines[index - 1], `comment above ${field}`).to.match(/^ {2}# [A-Z]/)
    }
  })

  it('sets only what the image pipeline uses, and marks the fields kept from the original format as not acted on', () => {
    const text = starterConfig({name: 'shop-api'})
    const set = [...text.matchAll(/^ {2}([A-Za-z]+):/gm)].map((match) => match[1])
    expect(set).to.deep.equal(['name', 'imageName', 'dockerfilePath', 'buildContext', 'buildContextExclusions'])
    const kept = text.slice(text.indexOf('  # Kept so that files written for the original kudev'))
    expect(kept).to.include('does not act on them')
    for (const field of ['namespace', 'replicas', 'localPort', 'servicePort', 'env']) {
      expect(kept, field).to.match(new RegExp(`^ {2}# ${field}: `, 'm'))
    }
    expect(text).to.include('kudev does not deploy the app or forward ports')
    expect(text).not.to.match(/to deploy into|forwarded to the app\.|Name of the Deployment/)
  })

  it('reports only the missing Dockerfile when there is none', async () => {
    const dir = await temp.make()
    const problems = await validateConfig(starterConfig({name: 'shop-api'}), path.join(dir, '.kudev.yaml'))
    expect(problems.map((p) => p.path)).to.deep.equal(['spec.dockerfilePath'])
  })

  it('refuses a name that is not a DNS-1123 label, suggesting one that is', async () => {
    const error = await rejection(Promise.resolve().then(() => starterConfig({name: 'My App'})))
    expect(error.code).to.equal('usage')
    expect(error.message).to.include('"My App"')
    expect(error.hint).to.equal('pick a name such as my-app')
  })
})

describe('config: deriveProjectName', () => {
  const cases: Array<[string, string]> = [
    ['/home/me/shop-api', 'shop-api'],
    ['/home/me/My Project', 'my-project'],
    ['/src/MyCoolApp', 'my-cool-app'],
    ['/src/my_app.v2', 'my-app-v2'],
    ['/src/--odd--name--', 'odd-name'],
    ['/src/Café', 'cafe'],
    ['/src/go', 'go-app'],
    ['/src/x', 'x-app'],
    ['/src/___', 'app'],
    ['/src/日本語', 'app'],
    ['/', 'app'],
    ['/src/trailing/', 'trailing'],
    [`/src/${'a'.repeat(62)}-b`, 'a'.repeat(62)],
    [`/src/${'abc'.repeat(30)}`, 'abc'.repeat(21)],
  ]
  for (const [dir, expected] of cases) {
    it(`${JSON.stringify(dir)} → ${expected}`, () => {
      const name = deriveProjectName(dir)
      expect(name).to.equal(expected)
      expect(checkDnsLabel(name)).to.equal(undefined)
    })
  }

  it('resolves relative folders from the working directory', () => {
    expect(deriveProjectName('.')).to.equal(deriveProjectName(process.cwd()))
  })
})

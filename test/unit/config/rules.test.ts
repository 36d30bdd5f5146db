import {expect} from 'chai'

import {
  checkExclusion,
  checkImageName,
  checkPlatform,
  checkRegistry,
  toEnvName,
  withoutTag,
} from '../../../src/config/rules.js'

describe('config: value rules', () => {
  describe('image repository names', () => {
    for (const valid of [
      'my-app',
      'a',
      'my.app',
      'my_app',
      'my__app',
      'a---b',
      'team/app',
      'registry.local/team/app',
      'localhost:5000/app',
      'reg-1.example.com:443/a/b/c',
    ]) {
      it(`accepts ${valid}`, () => expect(checkImageName(valid)).to.equal(undefined))
    }
    const invalid: Array<[string, string]> = [
      ['app:latest', 'includes a tag (":latest")'],
      ['localhost:5000/app:1', 'includes a tag (":1")'],
      ['app@sha256:00', 'includes a digest'],
      ['Team/app', 'has uppercase letters'],
      ['app_', 'is not an image repository name'],
      ['my___app', 'is not an image repository name'],
      ['a/', 'is not an image repository name'],
      ['/a', 'is not an image repository name'],
      ['my app', 'is not an image repository name'],
      [`${'a'.repeat(256)}`, 'is 256 characters long'],
    ]
    for (const [value, message] of invalid) {
      it(`rejects ${value.length > 20 ? `${value.slice(0, 20)}…` : value}`, () =>
        expect(checkImageName(value)).to.include(message))
    }

    it('suggests the name without tag or digest', () => {
      expect(withoutTag('my-app:1.0')).to.equal('my-app')
      expect(withoutTag('localhost:5000/app')).to.equal('localhost:5000/app')
      expect(withoutTag('localhost:5000/app:dev@sha256:00')).to.equal('localhost:5000/app')
    })
  })

  it('accepts registries as host[:port][/path] without a scheme, with a lowercase path', () => {
    for (const valid of [
      'localhost:5001',
      '127.0.0.1:5001',
      'registry.example.com',
      'ghcr.io/team/sub',
      '[::1]:5000',
      'r-1.io/a_b',
    ])
      expect(checkRegistry(valid), valid).to.equal(undefined)
    for (const invalid of [
      'https://ghcr.io',
      'ghcr.io/Team',
      'ghcr.io/',
      'host:port',
      'a b',
      '-bad.io',
      'ghcr.io//x',
      'myregistry',
      'myregistry/team',
      'localhost:0',
    ])
      expect(checkRegistry(invalid), invalid).to.be.a('string')
    // Checked before the build, not after it by the registry loader.
    expect(checkRegistry('localhost:99999/team')).to.equal(
      '"localhost:99999/team" is not a registry: port 99999 is out of range (1 to 65535)',
    )
    expect(checkRegistry('localhost:65535')).to.equal(undefined)
  })

  it('accepts platforms as os/arch[/variant] only', () => {
    for (const valid of ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'windows/amd64'])
      expect(checkPlatform(valid), valid).to.equal(undefined)
    for (const valid of [
      'linux/arm/v6',
      'linux/s390x',
      'linux/ppc64le',
      'linux/riscv64',
      'linux/aarch64',
      'darwin/arm64',
    ])
      expect(checkPlatform(valid), valid).to.equal(undefined)
    for (const invalid of ['linux', 'linux/', 'Linux/amd64', 'linux/amd64/v8/x', 'linux amd64'])
      expect(checkPlatform(invalid), invalid).to.be.a('string')
    // Refused before the build: docker would fail it ("operating system is not supported") after hashing.
    expect(checkPlatform('nonsense/amd64')).to.equal(
      '"nonsense/amd64" is not a platform: "nonsense" is not an operating system Docker knows (linux, windows, …)',
    )
    expect(checkPlatform('linux/x64')).to.equal(
      '"linux/x64" is not a platform: "x64" is not an architecture Docker knows (amd64, arm64, arm, …)',
    )
  })

  it('accepts gitignore escapes but not Windows separators in exclusions', () => {
    for (const valid of ['*.md', '/build', 'logs/**', '\\#file', '\\!keep', 'a\\ b', 'a\\\\b'])
      expect(checkExclusion(valid), valid).to.equal(undefined)
    for (const invalid of ['build\\out', 'trailing\\'])
      expect(checkExclusion(invalid), invalid).to.include("uses '\\' as a path separator")
  })

  it('turns a bad variable name into a valid one for the example', () => {
    expect(toEnvName('log-level')).to.equal('LOG_LEVEL')
    expect(toEnvName('1st')).to.equal('_1ST')
    expect(toEnvName('')).to.equal('_')
  })
})

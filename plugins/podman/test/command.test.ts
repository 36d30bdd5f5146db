import {expect} from 'chai'
import {type BuildOptions, DIGEST_LABEL} from 'kudev'

import {buildCommand, IGNORE_NOTHING, ignoreOnly, imageRef, qualifiedName} from '../src/command.js'

const DIGEST = 'ab'.repeat(32)

function options(extra: Partial<BuildOptions> = {}): BuildOptions {
  return {
    buildArgs: {},
    dockerfile: '/src/app/Dockerfile',
    imageName: 'shop-api',
    // As kudev passes them: its digest label always among them.
    labels: {[DIGEST_LABEL]: DIGEST},
    source: '/src/app',
    tag: 'kudev-abababab',
    ...extra,
  }
}

describe('podman command lines', () => {
  it('names images the way Docker and CRI read them, so the saved archive carries that name', () => {
    expect(qualifiedName('app:kudev-1')).to.equal('docker.io/library/app:kudev-1')
    expect(qualifiedName('team/app:kudev-1')).to.equal('docker.io/team/app:kudev-1')
    expect(qualifiedName('docker.io/team/app:kudev-1')).to.equal('docker.io/team/app:kudev-1')
    expect(qualifiedName('localhost/app:kudev-1')).to.equal('localhost/app:kudev-1')
    expect(qualifiedName('localhost:5000/app:kudev-1')).to.equal('localhost:5000/app:kudev-1')
    expect(qualifiedName('registry.example.com/team/app:kudev-1')).to.equal('registry.example.com/team/app:kudev-1')
  })

  it("builds from the tar on stdin in Docker format, with kudev's ignore file, the iidfile and the digest label", () => {
    expect(buildCommand({dockerfile: 'Dockerfile', ignorefile: '/i'}, options(), '/tmp/x/image-id')).to.deep.equal([
      'build',
      '--format',
      'docker',
      '-f',
      'Dockerfile',
      '--ignorefile',
      '/i',
      '-t',
      'docker.io/library/shop-api:kudev-abababab',
      '--iidfile',
      '/tmp/x/image-id',
      '--label',
      `${DIGEST_LABEL}=${DIGEST}`,
      '-',
    ])
  })

  it('builds from a folder untagged, the Dockerfile by its path, with an ignore file that excludes nothing', () => {
    const source = {
      dockerfile: '/cache/context/0f0f/dockerfile/Dockerfile',
      folder: {root: '/cache/context/0f0f/files'},
      ignorefile: '/var/tmp/kudev-podman-1/ignore',
    }
    expect(buildCommand(source, options(), '/tmp/x/image-id')).to.deep.equal([
      'build',
      '--format',
      'docker',
      '-f',
      '/cache/context/0f0f/dockerfile/Dockerfile',
      '--ignorefile',
      '/var/tmp/kudev-podman-1/ignore',
      '--iidfile',
      '/tmp/x/image-id',
      '--label',
      `${DIGEST_LABEL}=${DIGEST}`,
      '/cache/context/0f0f/files',
    ])
    // Podman reads an ignore file without patterns as none (and applies the folder's own): this one has one.
    const patterns = IGNORE_NOTHING.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'))
    expect(patterns).to.deep.equal(['!*'])
  })

  it("a tar's ignore file excludes exactly what the tar carries for the builder alone, from the root", () => {
    const patterns = (paths: string[]) =>
      ignoreOnly(paths)
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    expect(patterns([])).to.deep.equal(['!*'])
    expect(patterns(['.dockerfile.0123', '.dockerignore'])).to.deep.equal(['!*', '.dockerfile.0123', '.dockerignore'])
  })

  it('passes every build option, build args and labels sorted, values as single arguments', () => {
    const args = buildCommand(
      {dockerfile: '.dockerfile.0123', ignorefile: '/i'},
      options({
        buildArgs: {ZED: 'last', ALPHA: 'a b=c "q"', EMPTY: ''},
        labels: {'org.example.b': '2', [DIGEST_LABEL]: DIGEST, 'org.example.a': 'x y'},
        network: 'none',
        noCache: true,
        platform: 'linux/arm64',
        target: 'runtime',
      }),
      '/tmp/x/image-id',
    )
    expect(args.slice(11)).to.deep.equal([
      '--build-arg',
      'ALPHA=a b=c "q"',
      '--build-arg',
      'EMPTY=',
      '--build-arg',
      'ZED=last',
      '--target',
      'runtime',
      '--platform',
      'linux/arm64',
      '--network',
      'none',
      '--no-cache',
      '--label',
      `${DIGEST_LABEL}=${DIGEST}`,
      '--label',
      'org.example.a=x y',
      '--label',
      'org.example.b=2',
      '-',
    ])
    expect(args.slice(3, 5)).to.deep.equal(['-f', '.dockerfile.0123'])
  })

  it('applies every label it is given, exactly, and no other (the contract: kudev owns the digest label)', () => {
    const args = buildCommand(
      {dockerfile: 'Dockerfile', ignorefile: '/i'},
      options({labels: {[DIGEST_LABEL]: 'cd'.repeat(32), z: ''}}),
      '/i',
    )
    const labels = args.filter((_, index) => args[index - 1] === '--label')
    expect(labels).to.deep.equal([`${DIGEST_LABEL}=${'cd'.repeat(32)}`, 'z='])
  })

  it('tells users the image by its own name', () => {
    expect(imageRef(options())).to.equal('shop-api:kudev-abababab')
  })
})

import {expect} from 'chai'
import {type BuildOptions, DIGEST_LABEL} from 'kudev'

import {buildCommand, imageRef} from '../src/command.js'

const DIGEST = 'ab'.repeat(32)
const context = {dockerfile: 'Dockerfile'}

function options(overrides: Partial<BuildOptions> = {}): BuildOptions {
  return {
    buildArgs: {},
    dockerfile: '/src/app/Dockerfile',
    imageName: 'myapp',
    // As kudev passes them: its digest label always among them.
    labels: {[DIGEST_LABEL]: DIGEST},
    source: '/src/app',
    tag: 'kudev-abababab',
    ...overrides,
  }
}

describe('docker build command line', () => {
  it('streams the context on stdin, tags, writes the image ID to a file and labels the digest', () => {
    expect(buildCommand(context, options(), '/tmp/x/image-id', 'classic')).to.deep.equal([
      'build',
      '-f',
      'Dockerfile',
      '-t',
      'myapp:kudev-abababab',
      '--iidfile',
      '/tmp/x/image-id',
      '--force-rm',
      '--label',
      `${DIGEST_LABEL}=${DIGEST}`,
      '-',
    ])
  })

  it('asks BuildKit for plain progress lines instead of removing failed containers', () => {
    const args = buildCommand(context, options(), '/tmp/id', 'buildkit')
    expect(args).to.include('--progress=plain')
    expect(args).not.to.include('--force-rm')
    expect(args.at(-1)).to.equal('-')
  })

  it('passes every option in a fixed order: build args, target, platform, network, no-cache, labels', () => {
    const args = buildCommand(
      {dockerfile: '.dockerfile.0123456789abcdef0123'},
      options({
        buildArgs: {VERSION: '1.0', ALPHA: 'a'},
        labels: {'org.example.team': 'web', [DIGEST_LABEL]: DIGEST, 'org.example.app': 'shop'},
        network: 'none',
        noCache: true,
        platform: 'linux/arm64',
        target: 'runtime',
      }),
      '/tmp/id',
      'buildkit',
    )
    expect(args).to.deep.equal([
      'build',
      '-f',
      '.dockerfile.0123456789abcdef0123',
      '-t',
      'myapp:kudev-abababab',
      '--iidfile',
      '/tmp/id',
      '--progress=plain',
      '--build-arg',
      'ALPHA=a',
      '--build-arg',
      'VERSION=1.0',
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
      'org.example.app=shop',
      '--label',
      'org.example.team=web',
      '-',
    ])
  })

  it('gives the same command whatever order the options were written in', () => {
    const one = buildCommand(
      context,
      options({buildArgs: {A: '1', B: '2'}, labels: {x: '1', y: '2'}}),
      '/tmp/id',
      'classic',
    )
    const two = buildCommand(
      context,
      options({buildArgs: {B: '2', A: '1'}, labels: {y: '2', x: '1'}}),
      '/tmp/id',
      'classic',
    )
    expect(one).to.deep.equal(two)
  })

  it('keeps values with spaces, = and quotes as single arguments, unescaped', () => {
    const args = buildCommand(
      context,
      options({buildArgs: {GREETING: 'hello world=1', QUOTE: `it's "x"`, EMPTY: ''}, labels: {note: 'a b=c'}}),
      '/tmp/dir with space/id',
      'classic',
    )
    expect(args).to.include.members([
      'GREETING=hello world=1',
      `QUOTE=it's "x"`,
      'EMPTY=',
      'note=a b=c',
      '/tmp/dir with space/id',
    ])
    expect(args[args.indexOf('GREETING=hello world=1') - 1]).to.equal('--build-arg')
  })

  it('leaves out target, platform and network when they are empty', () => {
    const args = buildCommand(context, options({network: '', platform: '', target: ''}), '/tmp/id', 'classic')
    for (const flag of ['--target', '--platform', '--network']) expect(args).not.to.include(flag)
  })

  it('applies every label it is given, exactly, and no other (the contract: kudev owns the digest label)', () => {
    const args = buildCommand(
      context,
      options({labels: {[DIGEST_LABEL]: 'cd'.repeat(32), z: ''}}),
      '/tmp/id',
      'classic',
    )
    const labels = args.filter((_, index) => args[index - 1] === '--label')
    expect(labels).to.deep.equal([`${DIGEST_LABEL}=${'cd'.repeat(32)}`, 'z='])
  })

  it('names the image name:tag', () => {
    expect(imageRef({imageName: 'registry.local:5000/team/app', tag: 'kudev-1a2b3c4d'})).to.equal(
      'registry.local:5000/team/app:kudev-1a2b3c4d',
    )
  })
})

import {expect} from 'chai'

import {buildOptions} from '../../../src/cli/flags.js'
import type {KudevError} from '../../../src/output/errors.js'

/** The usage error buildOptions throws for these flags. */
function refused(flags: Parameters<typeof buildOptions>[0]): KudevError {
  try {
    buildOptions(flags)
  } catch (error) {
    return error as KudevError
  }
  throw new Error(`accepted ${JSON.stringify(flags)}`)
}

describe('build flags', () => {
  it('passes on values its spec field would take, and empty ones (Docker reads them as none)', () => {
    expect(buildOptions({network: 'none', platform: 'linux/arm64/v8', target: 'build'})).to.include({
      network: 'none',
      platform: 'linux/arm64/v8',
      target: 'build',
    })
    expect(buildOptions({platform: '', target: ''})).to.include({platform: '', target: ''})
  })

  it('refuses --platform, --target and --network values before anything runs, naming the flag', () => {
    const platform = refused({platform: 'nonsense/amd64'})
    expect(platform).to.include({
      code: 'usage',
      hint: 'e.g. --platform linux/amd64',
      message:
        '--platform: "nonsense/amd64" is not a platform: "nonsense" is not an operating system Docker knows (linux, windows, …)',
    })
    expect(refused({target: 'a b'}).message).to.match(/^--target: "a b" is not a build stage name/)
    expect(refused({network: 'a b'}).message).to.match(/^--network: "a b" is not a network name/)
  })
})

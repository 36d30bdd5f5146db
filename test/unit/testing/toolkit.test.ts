import {expect} from 'chai'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {text} from 'node:stream/consumers'

import type {BuildersHook, LoaderDescriptor, LoadersHook, PluginToolkit} from '../../../src/plugins/contract.js'
import {
  type Answer,
  fakeToolkit,
  realToolkit,
  registeredBuilders,
  registeredLoaders,
  rejection,
} from '../../../src/testing/index.js'
import {repoRoot} from '../../support/cli.js'

const SCRIPT = 'echo out; for i in $(seq 1 20); do echo err$i >&2; done; exit 3'
const ANSWER: Answer = {
  exitCode: 3,
  stderr: Array.from({length: 20}, (_, i) => `err${i + 1}`).join('\n') + '\n',
  stdout: 'out\n',
}

describe('kudev/testing', () => {
  describe('fakeToolkit', () => {
    it('answers a command as the real exec does: the same lines to onLine and the same result', async () => {
      const printing = ['-c', "printf 'v1\\r\\n\\nv2\\n'; printf 'e1\\n' >&2"]
      const run = async (toolkit: PluginToolkit) => {
        const lines: string[] = []
        const result = await toolkit.exec('sh', printing, {onLine: (line, stream) => lines.push(`${stream}:${line}`)})
        return {lines: lines.sort(), result}
      }

      const toolkit = fakeToolkit(([program, flag]) =>
        program === 'sh' && flag === '-c' ? {stderr: 'e1\n', stdout: 'v1\r\n\nv2\n'} : undefined,
      )
      expect(await run(toolkit)).to.deep.equal(await run(realToolkit()))
      expect(toolkit.commands).to.deep.equal([['sh', ...printing]])
      expect(toolkit.calls[0]).to.include({file: 'sh'}).and.have.nested.property('options.onLine')
      expect((await rejection(toolkit.exec('other', ['x']))).message).to.equal('unexpected command: other x')
    })

    it('fails a non-zero exit exactly as the real exec does, unless allowFailure', async () => {
      const real = await rejection(realToolkit().exec('sh', ['-c', SCRIPT], {errorCode: 'build'}))
      const fake = await rejection(fakeToolkit(() => ANSWER).exec('sh', ['-c', SCRIPT], {errorCode: 'build'}))
      for (const error of [real, fake]) expect(error.constructor.name).to.equal('KudevError')
      const shown = ({code, data, details, hint, message}: typeof real) => ({code, data, details, hint, message})
      expect(shown(fake)).to.deep.equal(shown(real))
      expect(await fakeToolkit(() => ANSWER).exec('sh', [], {allowFailure: true})).to.include({exitCode: 3})
    })

    it('fails a program that is not installed exactly as the real exec does, even with allowFailure', async () => {
      const missing = 'kudev-no-such-program'
      const options = {allowFailure: true, errorCode: 'load', notFoundHint: 'install it: https://example.com'} as const
      const real = await rejection(realToolkit().exec(missing, ['version'], options))
      const toolkit = fakeToolkit(() => ({notFound: true}))
      const fake = await rejection(toolkit.exec(missing, ['version'], options))
      const shown = ({code, data, hint, message}: typeof real) => ({code, data, hint, message})
      expect(shown(fake)).to.deep.equal(shown(real))
      expect(shown(fake)).to.deep.include({data: {notFound: true}, hint: 'install it: https://example.com'})
      const streamed = await toolkit.execStream(missing, ['save'])
      expect((await rejection(streamed.done)).data).to.deep.equal({notFound: true})
    })

    it('runs the shared helpers through the answers, and records what the plugin logged', async () => {
      const toolkit = fakeToolkit(() => ({exitCode: 1, stderr: 'Error: No such image: app:1\n'}))
      const error = await rejection(toolkit.docker(['image', 'inspect', 'app:1'], 'inspect app:1'))
      expect(error.message).to.equal('could not inspect app:1: Error: No such image: app:1')
      expect(toolkit.commands).to.deep.equal([['docker', 'image', 'inspect', 'app:1']])
      toolkit.logger.debug('d')
      toolkit.logger.info('i')
      toolkit.logger.warn('w')
      expect(toolkit.logs).to.deep.include({debug: ['d'], info: ['i'], warn: ['w']})
      expect(toolkit.logger.enabled('debug')).to.equal(true)
    })

    it("streams stdout, ending execOutput's stream only once the program exited 0", async () => {
      let exit!: () => void
      const exited = new Promise<void>((resolve) => {
        exit = resolve
      })
      const toolkit = fakeToolkit(() => ({exited, stdout: 'tar bytes'}))
      const stream = await toolkit.execOutput('tool', ['save'])
      let ended = false
      const content = text(stream).finally(() => {
        ended = true
      })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(ended).to.equal(false)
      exit()
      expect(await content).to.equal('tar bytes')
      const failing = await fakeToolkit(() => ({exitCode: 1, stderr: 'no such image\n', stdout: 'half'})).execOutput(
        'tool',
        ['save'],
        {errorCode: 'engine'},
      )
      expect(await rejection(text(failing))).to.deep.include({code: 'engine', details: ['no such image']})
    })
  })

  it('realToolkit runs real programs and records their command lines', async () => {
    const toolkit = realToolkit()
    expect((await toolkit.exec('sh', ['-c', 'echo hi'])).stdout).to.equal('hi')
    expect(toolkit.logs.debug).to.deep.equal(["$ sh -c 'echo hi'"])
  })

  describe('registration', () => {
    const loader = {apiVersion: 1, create: async () => ({}) as never, description: 'a loader', name: 'x'}

    it('runs a hook as kudev does and answers its descriptors as a list', async () => {
      const one: LoadersHook = async () => loader
      const two: LoadersHook = async () => [loader, {...loader, name: 'y'}]
      expect(await registeredLoaders(one)).to.deep.equal([loader])
      expect((await registeredLoaders(two)).map((d: LoaderDescriptor) => d.name)).to.deep.equal(['x', 'y'])
      const versions: BuildersHook = async ({apiVersions, kudevVersion}) => {
        expect(apiVersions).to.deep.equal([1])
        expect(kudevVersion).to.equal('0.1.0')
        return loader
      }

      expect(await registeredBuilders(versions)).to.have.length(1)
    })

    it('fails with the reason kudev would skip a descriptor for', async () => {
      const error = await rejection(registeredBuilders(async () => ({...loader, name: 'Bad Name'})))
      expect(error.message).to.equal(
        'kudev would skip this builder: name "Bad Name" must be lowercase letters, digits and dashes (like "podman")',
      )
      expect((await rejection(registeredLoaders(async () => ({...loader, detect: 1}) as never))).message).to.include(
        'detect that is not a function',
      )
    })
  })

  it('rejection returns the error, and fails when the promise succeeds', async () => {
    const error = new Error('no')
    expect(await rejection(Promise.reject(error))).to.equal(error)
    expect((await rejection(rejection(Promise.resolve({ok: 1})))).message).to.equal(
      'expected a rejection, got { ok: 1 }',
    )
  })

  it('is imported by no kudev module, so it costs startup nothing', async () => {
    const src = join(repoRoot, 'src')
    const files = (await readdir(src, {recursive: true})).filter((f) => f.endsWith('.ts') && !f.startsWith('testing'))
    for (const file of files)
      expect(await readFile(join(src, file), 'utf8'), file).to.not.match(/['"][^'"]*\/testing\/[^'"]*['"]/)
  })
})

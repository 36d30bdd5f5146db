import {expect} from 'chai'
import {Readable} from 'node:stream'
import {text} from 'node:stream/consumers'

import {exec, execStream, formatCommand, lastLines} from '../../../src/exec/run.js'
import {createLogger} from '../../../src/output/logger.js'
import {rejection} from '../../../src/testing/index.js'

function capture() {
  const lines: string[] = []
  return {lines, logger: createLogger('debug', {write: (chunk: string) => lines.push(chunk)}, {NO_COLOR: '1'})}
}

describe('exec (every subprocess goes through it)', () => {
  it('runs a program with an argument array, no shell, and logs the command line at debug level', async () => {
    const {lines, logger} = capture()
    const result = await exec(logger, 'printf', ['%s|', 'a b', '$HOME', '; rm -rf /'])
    expect(result.stdout).to.equal('a b|$HOME|; rm -rf /|')
    expect(lines).to.deep.equal(["debug: $ printf '%s|' 'a b' '$HOME' '; rm -rf /'\n"])
  })

  it('quotes words for display so the line can be pasted into a shell', () => {
    expect(formatCommand('docker', ['build', '-t', 'x:y', "it's"])).to.equal("docker build -t x:y 'it'\\''s'")
  })

  it('reports a failure with the command, the exit code and the last lines of stderr', async () => {
    const error = await rejection(
      exec(capture().logger, 'sh', ['-c', 'for i in $(seq 1 30); do echo line$i >&2; done; exit 3'], {
        errorCode: 'build',
      }),
    )
    expect(error.code).to.equal('build')
    expect(error.message).to.equal("sh -c 'for i in $(seq 1 30); do echo line$i >&2; done; exit 3' exited with code 3")
    expect(error.details).to.have.length(15)
    expect(error.details.at(-1)).to.equal('line30')
  })

  it('returns a failed result instead of throwing when asked', async () => {
    const result = await exec(capture().logger, 'sh', ['-c', 'echo no >&2; exit 1'], {allowFailure: true})
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.equal('no')
  })

  it("says a program is not installed, with the caller's install hint", async () => {
    const error = await rejection(
      exec(capture().logger, 'kudev-no-such-program', [], {
        errorCode: 'engine',
        notFoundHint: 'install it with apt-get',
      }),
    )
    expect(error.code).to.equal('engine')
    expect(error.message).to.equal('kudev-no-such-program is not installed (not found on PATH)')
    expect(error.hint).to.equal('install it with apt-get')
  })

  it('feeds a string or a stream to stdin', async () => {
    expect((await exec(capture().logger, 'cat', [], {input: 'from a string'})).stdout).to.equal('from a string')
    expect(
      (await exec(capture().logger, 'cat', [], {input: Readable.from(['from ', 'a ', 'stream'])})).stdout,
    ).to.equal('from a stream')
  })

  it('kills the program, without closing its stdin, when the input stream fails midway', async () => {
    const failing = new Readable({
      read() {
        this.push('partial input\n')
        setTimeout(() => this.destroy(new Error('file changed')), 50)
      },
    })
    const error = await rejection(
      exec(capture().logger, 'sh', ['-c', 'cat > /dev/null; echo clean-eof'], {input: failing}),
    )
    expect(error.message).to.equal('file changed')
  })

  it('hands every line to onLine as it is printed, from both streams', async () => {
    const seen: string[] = []
    await exec(capture().logger, 'sh', ['-c', 'echo one; echo two >&2; printf three'], {
      onLine: (line, stream) => seen.push(`${stream}:${line}`),
    })
    expect(seen).to.have.members(['stdout:one', 'stderr:two', 'stdout:three'])
  })

  it('kills the program when the signal aborts, leaving no process behind', async () => {
    const controller = new AbortController()
    const started = Date.now()
    // A duration no other process on the machine is likely to use: the check below looks for it by name.
    const running = exec(capture().logger, 'sleep', ['30.25'], {signal: controller.signal})
    setTimeout(() => controller.abort(), 200)
    const error = await rejection(running)
    expect(error.code).to.equal('interrupted')
    expect(Date.now() - started).to.be.below(5000)
    const {stdout} = await exec(capture().logger, 'sh', ['-c', 'pgrep -x sleep -a || true'])
    expect(stdout.split('\n').filter((line) => line.endsWith(' sleep 30.25'))).to.deep.equal([])
  })

  it("with killTree, stops the program's own children on abort too, and settles only once they are gone", async function () {
    this.timeout(10_000)
    // sh does not pass SIGTERM on to its children, as kind and minikube do not: killing only its pid leaves `sleep` behind.
    const controller = new AbortController()
    const running = exec(capture().logger, 'sh', ['-c', 'sleep 41.5 & sleep 42.5; wait'], {
      killTree: true,
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 300)
    expect((await rejection(running)).code).to.equal('interrupted')
    const {stdout} = await exec(capture().logger, 'sh', ['-c', 'pgrep -f "sleep 4[12].5" -a || true'])
    expect(stdout).to.equal('')
  })

  it('with killTree, SIGKILLs a group member that ignores SIGTERM', async function () {
    this.timeout(15_000)
    const controller = new AbortController()
    const started = Date.now()
    const running = exec(capture().logger, 'sh', ['-c', 'trap "" TERM; sleep 43.5 & wait'], {
      killTree: true,
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 300)
    expect((await rejection(running)).code).to.equal('interrupted')
    expect(Date.now() - started).to.be.below(8000)
    const {stdout} = await exec(capture().logger, 'sh', ['-c', 'pgrep -f "sleep 4[3].5" -a || true'])
    expect(stdout).to.equal('')
  })

  it('with killTree, streams and stops the whole group on abort', async function () {
    this.timeout(10_000)
    const controller = new AbortController()
    const {done, stdout} = await execStream(capture().logger, 'sh', ['-c', 'echo started; sleep 44.5 & wait'], {
      killTree: true,
      signal: controller.signal,
    })
    stdout.once('data', () => controller.abort())
    stdout.resume()
    expect((await rejection(done)).code).to.equal('interrupted')
    const {stdout: left} = await exec(capture().logger, 'sh', ['-c', 'pgrep -f "sleep 4[4].5" -a || true'])
    expect(left).to.equal('')
  })

  it('streams stdout for big outputs and settles when the program ends', async () => {
    const {done, stdout} = await execStream(capture().logger, 'sh', ['-c', 'seq 1 100000'])
    const output = await text(stdout)
    expect(output.split('\n').filter(Boolean)).to.have.length(100_000)
    expect((await done).exitCode).to.equal(0)
    const failing = await execStream(capture().logger, 'sh', ['-c', 'echo broken >&2; exit 2'], {errorCode: 'build'})
    await text(failing.stdout)
    expect((await rejection(failing.done)).details).to.deep.equal(['broken'])
  })
})

describe('lastLines (the details of an error about a program)', () => {
  it('keeps the last non-empty lines, trimmed, without colour codes', () => {
    const output = [
      '\u001B[31mERROR:\u001B[0m first',
      '',
      ...Array.from({length: 20}, (_, index) => `line ${index}   `),
      '\u001B[1;33mwarning\u001B[0m',
      '',
    ]
    expect(lastLines(output.join('\n'), 3)).to.deep.equal(['line 18', 'line 19', 'warning'])
    expect(lastLines(output.join('\n'))).to.have.length(15)
    expect(lastLines('\u001B[31mERROR:\u001B[0m first\n')).to.deep.equal(['ERROR: first'])
  })
})

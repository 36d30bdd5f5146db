/**
 * The podman builder against the real podman (Debian's podman package, as root). Podman cannot run
 * containers on these machines (runc may not set rlimits), but `podman build` runs RUN steps; what an image
 * holds is read through Docker, after `podman save | docker load`, which is also how Docker Desktop gets it.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {realToolkit, rejection} from 'kudev/testing'
import {readdir} from 'node:fs/promises'
import path from 'node:path'
import {text} from 'node:stream/consumers'

import {isContextChanged} from '../../../src/context/tar.js'
import {builderProject, editedWhileBuilding, editedWhileSending} from '../../../test/support/build-context.js'
import {docker, requireDocker, suiteCleanup, uniqueName} from '../../../test/support/docker.js'
import {BUSYBOX_BASE, ensureBusyboxBase} from '../../../test/support/images.js'
import {processes, until} from '../../../test/support/processes.js'
import {makeTree, type TreeSpec} from '../../../test/support/tree.js'
import {
  copyToPodman,
  danglingPodmanImages,
  podman,
  podmanImageExists,
  removeNewDanglingImages,
  removePodmanImage,
  requirePodman,
} from '../../../test/support/podman.js'
import {PodmanBuilder} from '../src/builder.js'
import {DIGEST_LABEL} from '../../../src/plugins/contract.js'
import {qualifiedName} from '../src/command.js'

/** Podman's working containers of builds (`podman ps --external`), sorted. */
async function externalContainers(): Promise<string[]> {
  return (await podman(['ps', '--external', '--quiet', '--no-trunc'])).split('\n').filter(Boolean).sort()
}

describe('podman builder (integration, real podman)', function () {
  this.timeout(180_000)
  const cleanup = suiteCleanup()
  const builder = new PodmanBuilder(realToolkit())
  let danglingBefore: string[]

  before(async function () {
    await requirePodman(this)
    await requireDocker(this)
    await ensureBusyboxBase()
    await copyToPodman(BUSYBOX_BASE)
    danglingBefore = await danglingPodmanImages()
    cleanup.add('step images podman kept as cache', () => removeNewDanglingImages(danglingBefore))
  })

  /** A project folder with `files`, its BuildContext, and build options naming a fresh image. */
  async function project(files: TreeSpec, dockerfile?: string) {
    const dir = await cleanup.tempDir('kudev-podman-project-')
    await makeTree(dir, files)
    const made = await builderProject(dir, 'kudev-it-podman', {}, dockerfile)
    cleanup.add(`podman image ${made.ref}`, () => removePodmanImage(qualifiedName(made.ref)))
    return made
  }

  /** `podman save | docker load` through the builder, as the Docker Desktop loader does; answers Docker's ID for `ref`. */
  async function intoDocker(ref: string): Promise<string> {
    cleanup.image(ref)
    await execa('docker', ['load'], {input: await builder.save(ref)})
    return docker(['image', 'inspect', '--format', '{{.Id}}', ref])
  }

  it("builds FROM scratch: the ID is the iidfile's and podman's, the digest label is on it", async () => {
    const {context, lines, options, ref} = await project({
      Dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\n',
      'hello.txt': 'hello\n',
    })
    const image = await builder.build(context, options, new AbortController().signal)
    expect(image.ref).to.equal(ref)
    expect(image.id).to.match(/^sha256:[0-9a-f]{64}$/)
    expect(`sha256:${(await podman(['image', 'inspect', '--format', '{{.Id}}', qualifiedName(ref)])).trim()}`).to.equal(
      image.id,
    )
    const inspected = await builder.inspect(ref)
    expect(inspected?.id).to.equal(image.id)
    expect(inspected?.labels[DIGEST_LABEL]).to.equal(context.digest)
    expect(lines).to.include('STEP 2/3: COPY hello.txt /hello.txt')
  })

  it('saves an archive Docker loads under the name users know, with the same image ID', async () => {
    const {context, options, ref} = await project({Dockerfile: 'FROM scratch\nCOPY a.txt /\n', 'a.txt': 'a\n'})
    const image = await builder.build(context, options, new AbortController().signal)
    expect(await intoDocker(ref)).to.equal(image.id)
  })

  it("runs RUN steps on a base from podman's store, with build args holding spaces and =", async () => {
    const {context, options, ref} = await project({
      Dockerfile: `FROM ${BUSYBOX_BASE}\nARG GREETING\nARG EMPTY\nRUN echo "$GREETING|$EMPTY" > /greeting.txt\n`,
    })
    await builder.build(
      context,
      {...options, buildArgs: {EMPTY: '', GREETING: 'hello world=1 "quoted"'}},
      new AbortController().signal,
    )
    await intoDocker(ref)
    expect(await docker(['run', '--rm', '--network', 'none', ref, 'cat', '/greeting.txt'])).to.equal(
      'hello world=1 "quoted"|',
    )
  })

  it('builds the --target stage, with the labels it is given', async () => {
    const {context, options, ref} = await project({
      Dockerfile: 'FROM scratch AS first\nLABEL stage=first\n\nFROM scratch AS second\nLABEL stage=second\n',
    })
    await builder.build(
      context,
      {...options, labels: {...options.labels, 'org.example.note': 'a b=c'}, target: 'first'},
      new AbortController().signal,
    )
    const labels = (await builder.inspect(ref))?.labels
    expect(labels).to.deep.include({[DIGEST_LABEL]: context.digest, 'org.example.note': 'a b=c', stage: 'first'})
  })

  it("builds with a Dockerfile from outside the context, which the context's COPY does not see", async () => {
    const outside = await cleanup.tempDir('kudev-podman-dockerfile-')
    await makeTree(outside, {Dockerfile: `FROM ${BUSYBOX_BASE}\nLABEL which=outside\nCOPY . /ctx/\n`})
    const {context, options, ref} = await project(
      {'.dockerignore': 'secret.txt\n', Dockerfile: 'FROM scratch\nLABEL which=inside\n', 'data.txt': 'data\n'},
      path.join(outside, 'Dockerfile'),
    )
    expect(context.dockerfile).to.match(/^\.dockerfile\./)
    await builder.build(context, options, new AbortController().signal)
    expect((await builder.inspect(ref))?.labels.which).to.equal('outside')
    await intoDocker(ref)
    const listing = (await docker(['run', '--rm', '--network', 'none', ref, 'ls', '-A', '/ctx'])).split('\n')
    expect(listing.sort()).to.deep.equal(['.dockerignore', 'Dockerfile', 'data.txt'])
  })

  it('fails a RUN step as a build error naming the step, and leaves no tag', async () => {
    const marker = uniqueName('boom')
    const {context, options, ref} = await project({
      Dockerfile: `FROM ${BUSYBOX_BASE}\nRUN echo fine ${marker}\nRUN echo ${marker} >&2; exit 3\n`,
    })
    const error = await rejection(builder.build(context, options, new AbortController().signal))
    expect(error.code).to.equal('build')
    expect(error.exitCode).to.equal(6)
    expect(error.message).to.equal(
      `podman build failed at step "RUN echo ${marker} >&2; exit 3": while running runtime: exit status 3`,
    )
    expect(error.details.join('\n')).to.include(marker)
    expect(await podmanImageExists(qualifiedName(ref))).to.equal(false)
  })

  it('stops on abort during a slow RUN: interrupted within seconds, no tag, nothing left running', async () => {
    const marker = uniqueName('slow')
    // Not the step's last command, so the shell stays (with the marker in its command line) instead of exec-ing sleep.
    const {context, options, ref} = await project({
      Dockerfile: `FROM ${BUSYBOX_BASE}\nRUN echo ${marker}; sleep 30; echo done\n`,
    })
    const controller = new AbortController()
    let abortedAt = 0
    const temporary = async () =>
      (await readdir(process.env.TMPDIR || '/var/tmp')).filter((name) => /^(buildah|kudev-podman-)/.test(name))
    const temporaryBefore = await temporary()
    const containersBefore = await externalContainers()
    const error = await rejection(
      builder.build(
        context,
        {
          ...options,
          onOutput(line) {
            // The step prints the marker once it runs.
            if (line === marker && abortedAt === 0) {
              abortedAt = Date.now()
              controller.abort()
            }
          },
        },
        controller.signal,
      ),
    )
    expect(abortedAt, 'the RUN step never started').to.be.greaterThan(0)
    expect(error.code).to.equal('interrupted')
    expect(Date.now() - abortedAt).to.be.lessThan(8000)
    expect(await podmanImageExists(qualifiedName(ref))).to.equal(false)
    // A stopped podman leaves these behind (podman#14523); the builder removes them.
    expect(await until(async () => (await processes(marker)).length === 0, 5000), 'the RUN step still runs').to.equal(
      true,
    )
    expect(await externalContainers(), 'a working container is left').to.deep.equal(containersBefore)
    expect(await temporary(), "podman's temporary files are left").to.deep.equal(temporaryBefore)
  })

  it('refuses a file edited while the tar is being sent: the context-changed error, and no tag', async () => {
    const {context, dir, options, ref} = await project({
      Dockerfile: 'FROM scratch\nCOPY big.bin /\n',
      'big.bin': Buffer.alloc(32 * 1024 * 1024, 7),
    })
    // The tar is sent only when the folder is not to be had (another kudev run builds from it).
    const editing = editedWhileSending({...context, folder: async () => undefined}, path.join(dir, 'big.bin'))
    const error = await rejection(builder.build(editing.context, options, new AbortController().signal))
    expect(editing.edited()).to.equal(true)
    expect(isContextChanged(error), error.message).to.equal(true)
    expect(await podmanImageExists(qualifiedName(ref))).to.equal(false)
    expect(await processes(`podman build .*${options.imageName}`)).to.deep.equal([])
  })

  it('builds from the folder, tagged only after it checked nothing moved; a rebuild after an edit too', async () => {
    const {context, dir, options, ref} = await project({
      // Entries like any other in kudev's folder: podman must not apply them.
      '.containerignore': 'app.js\n',
      '.dockerignore': 'big.bin\n',
      Dockerfile: `FROM ${BUSYBOX_BASE}\nCOPY . /ctx/\n`,
      'app.js': 'one\n',
      'big.bin': Buffer.alloc(4 * 1024 * 1024, 7),
    })
    const first = await builder.build(context, options, new AbortController().signal)
    context.release()
    expect((await builder.inspect(ref))?.id).to.equal(first.id)

    await makeTree(dir, {'app.js': 'two\n'})
    const next = await builderProject(dir, 'kudev-it-podman')
    cleanup.add(`podman image ${next.ref}`, () => removePodmanImage(qualifiedName(next.ref)))
    const toolkit = realToolkit()
    const second = await new PodmanBuilder(toolkit).build(next.context, next.options, new AbortController().signal)
    next.context.release()
    expect(toolkit.logs.debug.filter((line) => line.startsWith('build context: '))).to.have.length(1)
    expect(toolkit.logs.debug.find((line) => line.startsWith('build context: '))).to.match(
      /^build context: the folder \S+\/files \(podman reads it in place/,
    )
    expect(second.id).to.not.equal(first.id)
    expect((await builder.inspect(next.ref))?.id).to.equal(second.id)
    await intoDocker(next.ref)
    const run = (command: string) => docker(['run', '--rm', '--network', 'none', next.ref, 'sh', '-c', command])
    expect((await run('ls -A /ctx')).split('\n')).to.deep.equal([
      '.containerignore',
      '.dockerignore',
      'Dockerfile',
      'app.js',
      'big.bin',
    ])
    expect(await run('cat /ctx/app.js')).to.equal('two')
  })

  it('refuses a file edited while podman builds from the folder: the context-changed error, and no tag', async () => {
    const {context, dir, options, ref} = await project({
      Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
      'app.js': 'one\n',
    })
    const error = await rejection(
      builder.build(editedWhileBuilding(context, path.join(dir, 'app.js')), options, new AbortController().signal),
    )
    context.release()
    expect(isContextChanged(error), error.message).to.equal(true)
    expect(await podmanImageExists(qualifiedName(ref))).to.equal(false)
    // The image podman made before the check refused it goes too: nothing untagged carries its digest.
    const left = await podman([
      'images',
      '--quiet',
      '--filter',
      `label=${DIGEST_LABEL}=${options.labels[DIGEST_LABEL]}`,
    ])
    expect(left.trim()).to.equal('')
  })

  it('answers undefined for an image podman does not have, and fails the save stream of one', async () => {
    const absent = `${uniqueName('kudev-it-absent')}:none`
    expect(await builder.inspect(absent)).to.equal(undefined)
    const error = await rejection(text(await builder.save(absent)))
    expect(error.code).to.equal('engine')
    expect(error.details.join('\n')).to.include('image not known')
  })
})

import {expect} from 'chai'
import {chmod, copyFile, mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {readKubeconfig} from '../../../src/kube/index.js'
import {fixture, kubeconfigEnv, kubeError, useTempDir} from './helpers.js'

describe('kube/readKubeconfig', () => {
  const temp = useTempDir()

  async function writeKubeconfig(name: string, text: string): Promise<string> {
    const file = path.join(temp(), name)
    await writeFile(file, text)
    return file
  }

  describe('which files', () => {
    it('reads ~/.kube/config under the given home when KUBECONFIG is unset', async () => {
      await mkdir(path.join(temp(), '.kube'))
      const file = path.join(temp(), '.kube', 'config')
      await copyFile(fixture('kind-dev'), file)
      const kubeconfig = await readKubeconfig({env: {}, home: temp()})
      expect(kubeconfig.files).to.deep.equal([file])
      expect([...kubeconfig.contexts.keys()]).to.deep.equal(['kind-dev'])
    })

    it('skips KUBECONFIG entries that do not exist, silently, like kubectl', async () => {
      const missing = path.join(temp(), 'missing.yaml')
      const kubeconfig = await readKubeconfig({
        env: {KUBECONFIG: [missing, '', fixture('kind-dev')].join(path.delimiter)},
        home: temp(),
      })
      expect(kubeconfig.files).to.deep.equal([fixture('kind-dev')])
      expect(kubeconfig.currentContext).to.deep.equal({name: 'kind-dev', file: fixture('kind-dev')})
    })

    it('ignores ~/.kube/config when KUBECONFIG is set', async () => {
      await mkdir(path.join(temp(), '.kube'))
      await copyFile(fixture('docker-desktop'), path.join(temp(), '.kube', 'config'))
      const kubeconfig = await readKubeconfig({env: kubeconfigEnv('k3d-x'), home: temp()})
      expect([...kubeconfig.contexts.keys()]).to.deep.equal(['k3d-x'])
    })

    it('reads an empty file as a kubeconfig with nothing in it', async () => {
      const file = await writeKubeconfig('empty', '')
      const kubeconfig = await readKubeconfig({env: {KUBECONFIG: file}, home: temp()})
      expect(kubeconfig.files).to.deep.equal([file])
      expect(kubeconfig.contexts.size).to.equal(0)
      expect(kubeconfig.currentContext).to.equal(undefined)
    })
  })

  describe('merging, as client-go does', () => {
    it("keeps the first file's entry for a name defined twice, and its current-context", async () => {
      const kubeconfig = await readKubeconfig({env: kubeconfigEnv('merge-first', 'merge-second')})
      expect(kubeconfig.files).to.deep.equal([fixture('merge-first'), fixture('merge-second')])
      expect(kubeconfig.currentContext).to.deep.equal({name: 'shared', file: fixture('merge-first')})
      expect(kubeconfig.contexts.get('shared')).to.include({namespace: 'from-first', file: fixture('merge-first')})
      expect(kubeconfig.clusters.get('shared')).to.include({server: 'https://first.example:6443'})
    })

    it('makes contexts and clusters only the later file defines available', async () => {
      const kubeconfig = await readKubeconfig({env: kubeconfigEnv('merge-first', 'merge-second')})
      expect(kubeconfig.contexts.get('only-in-second')).to.include({
        cluster: 'only-in-second',
        file: fixture('merge-second'),
      })
      expect(kubeconfig.clusters.get('only-in-second')).to.include({server: 'https://only-in-second.example:6443'})
    })

    it('follows the KUBECONFIG order, not the file names', async () => {
      const kubeconfig = await readKubeconfig({env: kubeconfigEnv('merge-second', 'merge-first')})
      expect(kubeconfig.currentContext).to.deep.equal({name: 'only-in-second', file: fixture('merge-second')})
      expect(kubeconfig.contexts.get('shared')).to.include({namespace: 'from-second'})
    })

    it('takes current-context from the first file that sets it to a non-empty value', async () => {
      const kubeconfig = await readKubeconfig({env: kubeconfigEnv('no-current-context', 'kind-dev')})
      expect(kubeconfig.currentContext).to.deep.equal({name: 'kind-dev', file: fixture('kind-dev')})
      expect([...kubeconfig.contexts.keys()]).to.deep.equal(['kind-one', 'kind-two', 'kind-dev'])
    })
  })

  describe('errors', () => {
    it('reports a missing ~/.kube/config with what to do', async () => {
      const error = await kubeError(readKubeconfig({env: {}, home: temp()}))
      expect(error.message).to.equal('no kubeconfig found (looked at ~/.kube/config)')
      expect(error.hint)
        .to.include('kind create cluster')
        .and.include('minikube start')
        .and.include('Docker Desktop')
        .and.include('KUBECONFIG')
      expect(error.data).to.deep.equal({files: [path.join(temp(), '.kube', 'config')]})
    })

    it('reports a KUBECONFIG whose files all do not exist', async () => {
      const value = [path.join(temp(), 'a'), path.join(temp(), 'b')].join(path.delimiter)
      const error = await kubeError(readKubeconfig({env: {KUBECONFIG: value}, home: temp()}))
      expect(error.message).to.equal(`no kubeconfig found (KUBECONFIG=${value}: none of these files exists)`)
    })

    it('reports a KUBECONFIG naming one missing file', async () => {
      const value = path.join(temp(), 'a')
      const error = await kubeError(readKubeconfig({env: {KUBECONFIG: value}, home: temp()}))
      expect(error.message).to.equal(`no kubeconfig found (KUBECONFIG=${value}: the file does not exist)`)
    })

    it('reports a KUBECONFIG that names no file at all', async () => {
      const error = await kubeError(readKubeconfig({env: {KUBECONFIG: path.delimiter}, home: temp()}))
      expect(error.message).to.equal(`no kubeconfig found (KUBECONFIG=${path.delimiter} names no files)`)
    })

    it('reports a directory in place of the file, with the OS reason, even next to a good file', async () => {
      const directory = path.join(temp(), 'config')
      await mkdir(directory)
      const env = {KUBECONFIG: [fixture('kind-dev'), directory].join(path.delimiter)}
      const error = await kubeError(readKubeconfig({env, home: '/nonexistent-home'}))
      expect(error.message).to.equal(`cannot read kubeconfig ${directory}: illegal operation on a directory (EISDIR)`)
      expect(error.data).to.deep.equal({file: directory})
    })

    it('reports a file without read permission', async function () {
      // root reads files whatever their mode, so chmod 000 cannot make the file unreadable there.
      if (process.getuid?.() === 0) this.skip()
      const file = await writeKubeconfig('config', 'apiVersion: v1\n')
      await chmod(file, 0o000)
      const error = await kubeError(readKubeconfig({env: {KUBECONFIG: file}, home: '/nonexistent-home'}))
      expect(error.message).to.equal(`cannot read kubeconfig ${file}: permission denied (EACCES)`)
    })

    it('reports malformed YAML as file:line:col with the offending line', async () => {
      const error = await kubeError(readKubeconfig({env: kubeconfigEnv('malformed')}))
      expect(error.message).to.match(new RegExp(`^${escape(fixture('malformed'))}:5:9: invalid YAML: `))
      expect(error.details).to.include('  name: kind-dev: broken')
    })

    it('shows files under home as ~/ in messages', async () => {
      await mkdir(path.join(temp(), '.kube'))
      await copyFile(fixture('malformed'), path.join(temp(), '.kube', 'config'))
      const error = await kubeError(readKubeconfig({env: {}, home: temp()}))
      expect(error.message).to.match(/^~\/\.kube\/config:5:9: invalid YAML: /)
    })

    it('reports contexts that are not a list', async () => {
      const error = await kubeError(readKubeconfig({env: kubeconfigEnv('contexts-not-list')}))
      expect(error.message).to.equal(`${fixture('contexts-not-list')}:3:3: contexts must be a list, not a mapping`)
    })

    it('reports a context entry without a name', async () => {
      const error = await kubeError(readKubeconfig({env: kubeconfigEnv('context-without-name')}))
      expect(error.message).to.equal(`${fixture('context-without-name')}:6:3: contexts[1] has no name`)
    })

    it('reports a name listed twice in one file, as client-go refuses it', async () => {
      const error = await kubeError(readKubeconfig({env: kubeconfigEnv('duplicate-context')}))
      expect(error.message).to.equal(`${fixture('duplicate-context')}:8:9: contexts lists "dup" twice`)
    })

    const shapes: Array<[string, string, string]> = [
      ['a document that is a list', '- a\n- b\n', ':1:1: the document must be a mapping, not a list'],
      [
        'a name that is not a string',
        'contexts:\n- name: 42\n',
        ':2:9: contexts[0].name must be a string, not a number',
      ],
      [
        'a context body that is a list',
        'contexts:\n- name: a\n  context: [x]\n',
        ':3:12: contexts[0].context must be a mapping, not a list',
      ],
      [
        'a cluster server that is a mapping',
        'clusters:\n- name: c\n  cluster:\n    server: {a: 1}\n',
        ':4:13: clusters[0].cluster.server must be a string, not a mapping',
      ],
      [
        'extensions that are a mapping',
        'contexts:\n- name: a\n  context:\n    extensions: {x: 1}\n',
        ':4:17: contexts[0].context.extensions must be a list, not a mapping',
      ],
      [
        'an extension without a name',
        'clusters:\n- name: c\n  cluster:\n    extensions:\n    - extension: {}\n',
        ':5:7: clusters[0].cluster.extensions[0] has no name',
      ],
      [
        'a current-context that is not a string',
        'current-context: [a]\n',
        ':1:18: current-context must be a string, not a list',
      ],
    ]
    for (const [what, text, expected] of shapes) {
      it(`reports ${what}, naming the file and position`, async () => {
        const file = await writeKubeconfig('config', text)
        const error = await kubeError(readKubeconfig({env: {KUBECONFIG: file}, home: '/nonexistent-home'}))
        expect(error.message).to.equal(file + expected)
        expect(error.data).to.deep.equal({file})
      })
    }
  })
})

function escape(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

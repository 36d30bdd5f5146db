import {expect} from 'chai'
import path from 'node:path'

import {displayPath, displayPaths, kubeconfigSearch} from '../../../src/kube/files.js'

describe('kube/files', () => {
  describe('kubeconfigSearch', () => {
    it('uses ~/.kube/config under the given home when KUBECONFIG is unset', () => {
      const search = kubeconfigSearch({env: {}, home: '/home/dev'})
      expect(search.files).to.deep.equal([path.join('/home/dev', '.kube', 'config')])
      expect(search.kubeconfigEnv).to.equal(undefined)
    })

    it('treats an empty KUBECONFIG as unset, as client-go does', () => {
      expect(kubeconfigSearch({env: {KUBECONFIG: ''}, home: '/h'}).files).to.deep.equal(['/h/.kube/config'])
    })

    it('splits KUBECONFIG on path.delimiter, keeps order, drops empty entries and repeats', () => {
      const value = ['/a', '', '/b', '/a', ''].join(path.delimiter)
      const search = kubeconfigSearch({env: {KUBECONFIG: value}, home: '/h'})
      expect(search.files).to.deep.equal(['/a', '/b'])
      expect(search.kubeconfigEnv).to.equal(value)
    })

    it('does not fall back to ~/.kube/config when KUBECONFIG holds only separators', () => {
      expect(kubeconfigSearch({env: {KUBECONFIG: path.delimiter}, home: '/h'}).files).to.deep.equal([])
    })

    it('reads KUBECONFIG from process.env by default', () => {
      const saved = process.env.KUBECONFIG
      process.env.KUBECONFIG = '/from/process/env'
      try {
        expect(kubeconfigSearch({home: '/h'}).files).to.deep.equal(['/from/process/env'])
      } finally {
        if (saved === undefined) delete process.env.KUBECONFIG
        else process.env.KUBECONFIG = saved
      }
    })
  })

  describe('displayPath', () => {
    it('shortens paths under home to ~/', () => {
      expect(displayPath('/home/dev/.kube/config', '/home/dev')).to.equal(path.join('~', '.kube', 'config'))
    })

    it('leaves other paths alone, including siblings that share a prefix with home', () => {
      expect(displayPath('/etc/kube/config', '/home/dev')).to.equal('/etc/kube/config')
      expect(displayPath('/home/developer/config', '/home/dev')).to.equal('/home/developer/config')
      expect(displayPath('relative/config', '/home/dev')).to.equal('relative/config')
    })

    it('joins several paths with commas', () => {
      expect(displayPaths(['/home/dev/a', '/b'], '/home/dev')).to.equal('~/a, /b')
    })
  })
})

import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {PRODUCTS} from './products.js'

/** One loader per product: each claims its own contexts, and --loader names it. */
const register: LoadersHook = async function () {
  return PRODUCTS.map((product): LoaderDescriptor => ({
    apiVersion: 1,
    async create(toolkit) {
      const {VmEngineLoader} = await import('./loader.js')
      return new VmEngineLoader(toolkit, product)
    },
    description: product.description,
    detect: product.detect,
    name: product.loader,
  }))
}

export default register

// oclif warns on every load of a linked ESM plugin without tsx; the test fixtures are plain JavaScript.
process.env.OCLIF_DISABLE_LINKED_ESM_WARNING = '1'

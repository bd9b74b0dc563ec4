/**
 * Codegen's schema for client operations: the API schema of the supergraph (what clients can select), not the
 * supergraph SDL itself, which also holds the join machinery and @inaccessible fields. The gateway builds the same
 * schema the same way (gateway/src/authz/gate.ts `buildApiSchema`), so what codegen accepts the gateway accepts.
 */
const { readFileSync } = require('node:fs');
const { Supergraph } = require('@apollo/federation-internals');

module.exports = (pointer) => Supergraph.build(readFileSync(pointer, 'utf8')).apiSchema().toGraphQLJSSchema();

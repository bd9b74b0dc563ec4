/**
 * A codegen plugin writing a client's operations as a persisted query manifest in Apollo's format
 * (`apollo-persisted-query-manifest`, version 1): `tollgate manifest publish` takes the file as it is.
 *
 * Each body is the operation printed with the fragments it uses, in a fixed order, and its id is the SHA-256 of
 * that text: the gateway checks exactly this (gateway/src/persisted/manifest.ts), and clients that send the text
 * (APQ) send the same bytes.
 */
const { createHash } = require('node:crypto');
const { Kind, print, visit } = require('graphql');

function fragmentsUsedBy(definition, fragments) {
  const used = new Map();
  const pending = [definition];
  while (pending.length > 0) {
    visit(pending.pop(), {
      FragmentSpread(node) {
        const name = node.name.value;
        const fragment = fragments.get(name);
        if (!fragment || used.has(name)) return;
        used.set(name, fragment);
        pending.push(fragment);
      },
    });
  }
  return [...used.values()].sort((a, b) => a.name.value.localeCompare(b.name.value));
}

module.exports = {
  plugin(_schema, documents) {
    const definitions = documents.flatMap((file) => (file.document ? file.document.definitions : []));
    const fragments = new Map(
      definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    const operations = definitions
      .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
      .map((definition) => {
        if (!definition.name) throw new Error('every persisted operation needs a name');
        const body = print({
          kind: Kind.DOCUMENT,
          definitions: [definition, ...fragmentsUsedBy(definition, fragments)],
        });
        return {
          id: createHash('sha256').update(body, 'utf8').digest('hex'),
          name: definition.name.value,
          type: definition.operation,
          body,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    return `${JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }, null, 2)}\n`;
  },
};

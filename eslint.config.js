// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const regexp = require('eslint-plugin-regexp');
const importX = require('eslint-plugin-import-x');

module.exports = tseslint.config(
  { ignores: ['node_modules/', '.data/', 'dist/', 'coverage/', 'artifacts/', '**/generated/', 'tools/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        console: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-console': 'error',
    },
  },
  { files: ['**/*.test.ts', 'test/**', 'bench/**', 'scripts/**', 'cli/**'], rules: { 'no-console': 'off' } },
  // Regular expressions: a pattern that backtracks super-linearly on text a client sends stalls every tenant of the
  // process (yup's e-mail pattern did). eslint-plugin-regexp's recommended rules are errors, the backtracking ones
  // above all: `no-super-linear-backtracking` (exponential or polynomial backtracking within one match attempt) and
  // `no-super-linear-move` (quadratic when a search retries from every position; left to source files — tests match
  // their own output). The analysis is sound for what it flags, not complete (it missed the quadratic
  // `\beyJ[\w-]+\.…` of the log redaction): text from clients is still bounded first and scanned without
  // patterns where it can be (common/email.ts, common/secret-shapes.ts). Purely stylistic rules are off: they would
  // rewrite patterns in every module for no safety gain.
  regexp.configs['flat/recommended'],
  {
    rules: {
      'regexp/no-super-linear-backtracking': ['error', { report: 'potential' }],
      'regexp/prefer-w': 'off',
      'regexp/use-ignore-case': 'off',
      'regexp/prefer-character-class': 'off',
      'regexp/no-unused-capturing-group': 'off',
    },
  },
  // Import cycles: a cycle makes a module's value `undefined` at load time depending on which file was required
  // first, and hides a layering mistake (the tenant registry that opened the whole control plane and seeded the demo).
  // import-x/no-cycle follows value imports only (`import type` is erased, so not a load-order hazard) and skips
  // node_modules (`ignoreExternal`: faster, and a package's own cycles are not ours). The resolver is import-x's
  // built-in node resolver (unrs-resolver) with `.ts` first: the tree imports extension-less relative paths and has
  // no tsconfig path aliases, so eslint-import-resolver-typescript is not needed. test/import-cycle-lint.test.ts proves it catches one.
  {
    files: ['{gateway,subgraphs,cli,scripts,common,bench,test,demo,schema}/**/*.ts'],
    plugins: { 'import-x': importX.importX },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.json'] })],
      // Which resolved files the rule parses and follows: import-x's default is JavaScript only, which would make
      // every .ts import a dead end and the rule silently pass.
      'import-x/extensions': ['.ts', '.tsx', '.js'],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js'],
    ignores: ['**/*.test.ts'],
    rules: {
      'regexp/no-super-linear-move': 'error',
      // graphql-shield's `inputRule` validates with yup, whose string patterns backtrack: input checks are plain rules
      // over gateway/src/authz/input-rules.ts.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'graphql-shield',
              importNames: ['inputRule'],
              message: 'yup backtracks on client input: use gateway/src/authz/input-rules.ts.',
            },
          ],
        },
      ],
    },
  },
);

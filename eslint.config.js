import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      'src/generated/',
      'test/generated/',
      'client/src/generated/',
      'client/dist/',
      'bench/results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    rules: {
      curly: ['error', 'all'],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // With verbatimModuleSyntax, `import { type A }` keeps a side-effect import of the module: use `import type`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-default-export': 'error',
      'import-x/order': ['error', { 'newlines-between': 'always', alphabetize: { order: 'asc' } }],
    },
  },
  {
    // src/execution/jit.ts loads graphql-jit without fast-json-stringify; an import elsewhere would load it first.
    files: ['src/**/*.ts'],
    ignores: ['src/execution/jit.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'graphql-jit',
              message:
                'Import from src/execution/jit.ts, which loads graphql-jit without fast-json-stringify.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['*.config.ts', '*.config.js', 'codegen.ts'],
    rules: { 'import-x/no-default-export': 'off' },
  },
);

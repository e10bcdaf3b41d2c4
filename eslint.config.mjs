import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import eapRules from './tools/eslint/eap-rules.cjs';

const { plugin: eap, EVENT_LITERAL_SELECTORS, UNSCOPED_REPOSITORY_IMPORTS } = eapRules;

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.tools/**',
      'coverage/**',
      'data/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // Nest's DI and decorator metadata rely on classes whose members are resolved at run time.
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // Modules import each other only through index.ts, down the layers.
    files: ['src/**/*.ts'],
    plugins: { eap },
    rules: { 'eap/module-boundaries': 'error' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/observability/catalog/**', 'src/**/*.spec.ts'],
    rules: { 'no-restricted-syntax': ['error', ...EVENT_LITERAL_SELECTORS] },
  },
  {
    files: ['src/platform/**/*.ts'],
    ignores: ['src/platform/tenants/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', UNSCOPED_REPOSITORY_IMPORTS] },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);

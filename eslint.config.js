// Lint, and the layer rule of docs/architecture.md: `src/shared` imports nothing from Electron, Node
// or the DOM; only `src/main/electron` and `src/preload` import `electron`; the renderer never
// reaches into the backend and the backend never into the renderer.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const electron = { name: 'electron', message: 'Only src/main/electron and src/preload may import electron.' };
const nodeBuiltins = builtinModules
  .filter((m) => !m.startsWith('_'))
  .map((name) => ({ name, message: 'src/shared must not import Node modules.' }));
const nodePrefixed = { group: ['node:*'], message: 'src/shared and src/renderer must not import Node modules.' };
const intoMain = {
  group: ['**/main/**', '**/main'],
  message: 'Only the backend imports the backend; share code through src/shared.',
};
const intoRenderer = { group: ['**/renderer/**', '**/renderer'], message: 'The backend must not import the renderer.' };
// The backend's floors, lowest first; docs/architecture.md ("The backend's floors") has the same
// table and tests/lint/layers.test.ts checks that the two agree and that every folder and file
// directly under src/main is named here. A floor imports only what lies below it (features may
// import one another; so may hosts). Imports from src/shared never count: shared/imaging and
// shared/contract/demo.ts share names with backend folders.
const GROUND = ['paths', 'workers', 'process-alive']; // src/main/paths.ts, workers.ts, process-alive.ts: where the app's files are, how a worker starts, whether a process lives
const DB = ['db'];
const STORE = ['store'];
const IMAGING = ['imaging'];
const FEATURES = [
  'import',
  'demo',
  'inference',
  'viewer',
  'worklist',
  'jobs',
  'models',
  'settings',
  'system',
  'review',
  'training',
  'export',
  'dicomweb',
  'tasks',
];
const HOSTS = ['backend', 'data-dir', 'rpc', 'server', 'cli', 'electron']; // backend.ts and data-dir.ts are files
const intoFeatures = (names, message) => ({
  group: [...names.flatMap((n) => [`**/${n}`, `**/${n}/**`]), '!**/shared/**'],
  message,
});
const featureRules = [
  [
    GROUND.map((f) => `src/main/${f}.ts`),
    [...DB, ...STORE, ...IMAGING, ...FEATURES, ...HOSTS],
    'paths.ts, workers.ts and process-alive.ts are the ground floor: they import no backend folder.',
  ],
  ['src/main/db/**/*.ts', [...STORE, ...IMAGING, ...FEATURES, ...HOSTS], 'The database layer imports no backend feature.'],
  ['src/main/store/**/*.ts', [...IMAGING, ...FEATURES, ...HOSTS], 'The content store is storage: it imports only the database.'],
  [
    'src/main/imaging/**/*.ts',
    [...FEATURES, ...HOSTS],
    'Imaging reads and writes pixels: it must not import import/, demo/ or any other feature.',
  ],
  ...FEATURES.map((f) => [`src/main/${f}/**/*.ts`, HOSTS, 'A feature must not import the backend or its hosts; they import it.']),
].map(([files, banned, message]) => ({
  files: Array.isArray(files) ? files : [files],
  // Tests may build their inputs with any feature (a demo phantom, a backend).
  ignores: ['**/*.test.ts'],
  rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [intoRenderer, intoFeatures(banned, message)] }] },
}));
const domGlobals = [
  'window',
  'document',
  'navigator',
  'location',
  'localStorage',
  'sessionStorage',
  'HTMLElement',
  'HTMLCanvasElement',
  'fetch',
  'WebSocket',
  'requestAnimationFrame',
].map((name) => ({ name, message: 'src/shared must not use the DOM.' }));

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'tests/fixtures/data/**', '.tmp/**', 'resources/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // Steps with names (issue 24): no function in the product's code is longer than a reader holds
    // in view; tests may be long (a scenario reads top to bottom).
    files: ['src/**/*.{ts,svelte}'],
    ignores: ['**/*.test.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }] },
  },
  // Layer rules. Later blocks replace earlier ones for the same files, so each lists all it bans.
  {
    files: ['src/**/*.{ts,svelte}'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron] }] },
  },
  {
    // The bundler injects its own `require` shim into ESM chunks; a module-level `require` collides.
    files: ['src/main/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "VariableDeclarator[id.name='require']",
          message: 'Name it requireCjs: the build injects a `require` of its own.',
        },
      ],
    },
  },
  {
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/electron/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [intoRenderer] }] },
  },
  ...featureRules,
  {
    files: ['src/main/electron/**/*.ts', 'src/preload/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoRenderer] }] },
  },
  {
    files: ['src/renderer/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [nodePrefixed, intoMain] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [electron, ...nodeBuiltins], patterns: [nodePrefixed, intoMain, intoRenderer] },
      ],
      'no-restricted-globals': ['error', ...domGlobals],
    },
  },
);

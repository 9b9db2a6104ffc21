#!/usr/bin/env node
// The `insighta` command: loads the TypeScript CLI through tsx, so it runs from any directory after
// `npm install -g .` or `npm link` without a build step.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

// Pin this package's tsconfig: by default tsx would read the one in the user's working directory.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })
await import(new URL('../cli/main.ts', import.meta.url).href)

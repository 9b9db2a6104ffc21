#!/usr/bin/env node
// The `insighta` command in a development checkout: runs the compiled CLI (cli/dist/, built by
// `npm run build -w cli`) when it is up to date with the sources, and otherwise the TypeScript
// sources through tsx, so an edit is never hidden behind a stale build. What ships is cli/ alone.
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ENTRY, isStale } from '../cli/build.js'

if (!isStale()) {
  await import(pathToFileURL(ENTRY).href)
} else {
  const { register } = await import('tsx/esm/api')
  // Pin this package's tsconfig: by default tsx would read the one in the user's working directory.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })
  await import(new URL('../cli/main.ts', import.meta.url).href)
}

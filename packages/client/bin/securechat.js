#!/usr/bin/env node
// The `securechat` command: the compiled CLI (npm run build, which npm ci runs, makes dist/).
import '../dist/cli/main.js';

// Loaded before every test file (see package.json): keeps the tests' rewritten-model cache out of the user's.
import os from 'node:os';
import path from 'node:path';

process.env.SMOLVLM_CACHE ??= path.join(os.tmpdir(), 'smolvlm-test-cache');

// The preload exposes one narrow, typed API and nothing else (issue 5 fills it in).
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('conclave', Object.freeze({ version: 1 }));

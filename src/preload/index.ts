// Exposes exactly one object, `window.lgms`, to the sandboxed renderer: invoke a contract method
// and receive backend events. No Node or Electron API leaks through it.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_EVENT, IPC_INVOKE, type LgmsBridge } from '../shared/contract/bridge';
import type { EventName } from '../shared/contract';
import type { Result } from '../shared/result';

const bridge: LgmsBridge = {
  invoke: (service, method, input) => ipcRenderer.invoke(IPC_INVOKE, service, method, input) as Promise<Result<unknown>>,
  subscribe(listener) {
    const handler = (_event: IpcRendererEvent, name: EventName, payload: unknown) => listener(name, payload);
    ipcRenderer.on(IPC_EVENT, handler);
    return () => ipcRenderer.removeListener(IPC_EVENT, handler);
  },
};

contextBridge.exposeInMainWorld('lgms', bridge);

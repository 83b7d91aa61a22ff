export { serve } from './serve';
export { startServer, type RunningServer, type ServerOptions } from './server';

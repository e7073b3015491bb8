export * from './duration';
export * from './errors';
export * from './schema';
export * from './load';
export * from './json-schema';
export * from './signatures';
export * from './fleet-schema';

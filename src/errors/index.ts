export * from './fiber-error.js';

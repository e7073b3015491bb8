export { stagingRehearsal } from './staging-rehearsal';

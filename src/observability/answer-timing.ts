import type { IncidentList } from '../core/answer-model.js';
import type { IncidentService } from '../core/incident-service.js';

/** Where a timed answer is reported: its status, its intent and how long it took. */
export type AnswerObserver = (status: string, intent: string | undefined, seconds: number) => void;

/**
 * Returns the service with every answer timed: `answer` by the answer's status and intent, the list requests
 * (`recent`, `searchList`) as status `list` (`not-found` when empty) and intent `latest` or `list`, and a throw as
 * status `error`. Every other member passes through untouched, including ones added to the service later. An answer
 * returned as a promise is timed until it settles.
 */
export function withAnswerTiming(service: IncidentService, observe: AnswerObserver): IncidentService {
  const timed = <A extends unknown[], R>(run: (...args: A) => R, labels: (result: Awaited<R>) => [string, string | undefined]) =>
    (...args: A): R => {
      const started = performance.now();
      const done = (status: string, intent: string | undefined) => observe(status, intent, (performance.now() - started) / 1000);
      let result: R;
      try {
        result = run(...args);
      } catch (err) {
        done('error', undefined);
        throw err;
      }
      if (result instanceof Promise) {
        void result.then(
          (value: Awaited<R>) => done(...labels(value)),
          () => done('error', undefined),
        );
        return result;
      }
      done(...labels(result as Awaited<R>));
      return result;
    };
  const listLabels = (intent: string) => (list: IncidentList): [string, string] => [list.items.length > 0 ? 'list' : 'not-found', intent];
  const overrides: Partial<IncidentService> = {
    answer: timed(service.answer.bind(service), (answer) => [answer.status, answer.intent]),
    recent: timed(service.recent.bind(service), listLabels('latest')),
    searchList: timed(service.searchList.bind(service), listLabels('list')),
  };
  // A proxy rather than a copy of each member: the service gains members (follow-ups, pages) that must keep working.
  return new Proxy(service, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof IncidentService];
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

// Test helper: what the scenario loader refuses in a scenario text, as the list of problems
// it names (each "field: reason"). Fails the test when the text is accepted or the loader
// throws anything but a ScenarioError.
import assert from 'node:assert/strict';
import { parseScenarioText, ScenarioError } from '../scenario/load.ts';

export function scenarioProblems(text: string): string[] {
  try {
    parseScenarioText(text, 'c.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError, String(e));
    return e.problems;
  }
  assert.fail('expected a ScenarioError');
}

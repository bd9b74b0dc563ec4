/**
 * The rule tree, compiled once at startup: every `Type.field` of the API schema mapped to the rule that decides it
 * (shield's lookup: the field's own rule, else the type's `*`, else the fallback), and the trees the gate refuses to
 * enforce because it could not do so faithfully (see gate.ts).
 */
import { isInterfaceType, isIntrospectionType, isObjectType, isUnionType, type GraphQLSchema } from 'graphql';
import { isLogicRule, isShieldRule, type RuleTree, type ShieldRule } from './shield';

/** A rule tree the gate cannot enforce faithfully; thrown at startup. */
export class RuleTreeError extends Error {
  override readonly name = 'RuleTreeError';
}

export function refuseDuplicateNames(trees: readonly RuleTree[]): void {
  const byName = new Map<string, ShieldRule>();
  const duplicates = new Set<string>();
  const visitRule = (rule: ShieldRule): void => {
    if (isLogicRule(rule)) {
      rule.getRules().forEach(visitRule);
      return;
    }
    const seen = byName.get(rule.name);
    if (seen && seen !== rule) duplicates.add(rule.name);
    byName.set(rule.name, rule);
  };
  const visitTree = (tree: unknown): void => {
    if (isShieldRule(tree)) visitRule(tree);
    else if (typeof tree === 'object' && tree !== null) Object.values(tree).forEach(visitTree);
  };
  trees.forEach(visitTree);
  if (duplicates.size > 0) {
    throw new RuleTreeError(
      `Distinct rules share a name, and shield caches decisions by name: ${[...duplicates].join(', ')}`,
    );
  }
}

export function compileRuleTree(
  schema: GraphQLSchema,
  tree: RuleTree,
  fallbackRule: ShieldRule,
): { ruleByField: Map<string, ShieldRule>; uncovered: string[] } {
  const typeRules = new Map<string, ShieldRule | Readonly<Record<string, ShieldRule>>>();
  if (!isShieldRule(tree)) {
    for (const [typeName, entry] of Object.entries(tree)) {
      const type = schema.getType(typeName);
      if (!type) throw new RuleTreeError(`Rules for ${typeName}, which is not a type of the API schema`);
      if (isInterfaceType(type) || isUnionType(type)) {
        throw new RuleTreeError(
          `Rules for ${typeName}: rules go on object types; a field selected on an interface or union is ` +
            `decided by the rules of each object type that can be there`,
        );
      }
      if (!isObjectType(type)) throw new RuleTreeError(`Rules for ${typeName}, which is not an object type`);
      if (!isShieldRule(entry)) {
        const fields = type.getFields();
        for (const [fieldName, rule] of Object.entries(entry)) {
          if (fieldName !== '*' && !Object.hasOwn(fields, fieldName)) {
            throw new RuleTreeError(`A rule for ${typeName}.${fieldName}, which is not in the API schema`);
          }
          if (!isShieldRule(rule)) throw new RuleTreeError(`${typeName}.${fieldName} is not a shield rule`);
        }
      }
      typeRules.set(typeName, entry);
    }
  }

  const ruleByField = new Map<string, ShieldRule>();
  const uncovered: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    const entry = isShieldRule(tree) ? tree : typeRules.get(type.name);
    for (const fieldName of Object.keys(type.getFields())) {
      const rule =
        entry === undefined || isShieldRule(entry) ? entry : (ownRule(entry, fieldName) ?? ownRule(entry, '*'));
      if (!rule) uncovered.push(`${type.name}.${fieldName}`);
      ruleByField.set(`${type.name}.${fieldName}`, rule ?? fallbackRule);
    }
  }
  return { ruleByField, uncovered: uncovered.sort() };
}

function ownRule(map: Readonly<Record<string, ShieldRule>>, key: string): ShieldRule | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

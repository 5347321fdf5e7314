import { HttpProblem } from '@groupchat/service-kit';

/** The groups context's typed errors; `code` is stable, clients may switch on it. */

/** Also the answer for another organization's group: its existence is not disclosed. */
export function groupNotFound(): HttpProblem {
  return new HttpProblem(404, 'group_not_found', 'no such group');
}

export function notGroupMember(): HttpProblem {
  return new HttpProblem(403, 'not_group_member', 'only members of the group may see it');
}

export function notGroupManager(): HttpProblem {
  return new HttpProblem(
    403,
    'not_group_manager',
    'only the group’s owner or an admin of its organization may do this',
  );
}

export function memberNotFound(): HttpProblem {
  return new HttpProblem(404, 'member_not_found', 'the user is not a member of the group');
}

/** An unknown user and a user of another organization look the same: no cross-org enumeration. */
export function userNotFound(): HttpProblem {
  return new HttpProblem(404, 'user_not_found', 'no such user in the group’s organization');
}

export function alreadyMember(): HttpProblem {
  return new HttpProblem(409, 'already_member', 'the user is already a member of the group');
}

/** A user always lists their own groups; naming another member is a service's question. */
export function memberIdForServices(): HttpProblem {
  return new HttpProblem(
    400,
    'validation_failed',
    'member_id is for services; a user lists their own groups',
  );
}

export function orgIdRequired(): HttpProblem {
  return new HttpProblem(400, 'org_id_required', 'a service must name the organization: org_id');
}

export function directGroupClosed(): HttpProblem {
  return new HttpProblem(409, 'direct_group_closed', 'a direct conversation takes no other members');
}

export function directPeerIsSelf(): HttpProblem {
  return new HttpProblem(400, 'invalid_direct_peer', 'a direct conversation needs another user');
}

export function usersOnly(): HttpProblem {
  return new HttpProblem(403, 'user_required', 'only a signed-in user may open a direct conversation');
}

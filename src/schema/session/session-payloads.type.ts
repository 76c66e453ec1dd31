import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true })
export class DeleteSessionPayload {
  @Field(() => ID)
  sid!: string;

  @Field(() => Boolean, { description: 'False when no session had this sid.' })
  deleted!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class RevokeUserSessionsPayload {
  @Field(() => String, { description: 'The full DN whose sessions were revoked (a bare inum is expanded).' })
  userDn!: string;

  @Field(() => Boolean, {
    description: 'True when at least one authenticated session was revoked; false when the user had none.',
  })
  revoked!: boolean;
}

import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Contact } from './contact.entity';
import type { Organization } from './organization.entity';

/** A phone number of a contact or of an organization (exactly one), looked up by E.164. */
@Entity({ name: 'phones' })
export class Phone {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'text' }) raw: string;
  @Column({ type: 'text' }) e164: string;
  @Column({ type: 'text', nullable: true }) label: string | null;
  @Column({ name: 'contact_id', type: 'uuid', nullable: true }) contactId: string | null;
  @ManyToOne('Contact', (c: Contact) => c.phones, { onDelete: 'CASCADE', orphanedRowAction: 'delete' })
  @JoinColumn({ name: 'contact_id', foreignKeyConstraintName: 'phones_contact_id_fkey' })
  contact?: Contact | null;
  @Column({ name: 'organization_id', type: 'uuid', nullable: true }) organizationId: string | null;
  @ManyToOne('Organization', (o: Organization) => o.phones, { onDelete: 'CASCADE', orphanedRowAction: 'delete' })
  @JoinColumn({ name: 'organization_id', foreignKeyConstraintName: 'phones_organization_id_fkey' })
  organization?: Organization | null;
}

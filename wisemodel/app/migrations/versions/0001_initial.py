"""The first schema: participants, prompts, contexts, cards, interviews, impressions, votes, hypotheses, judgements, settings

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contexts',
    sa.Column('context_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('context_id', name=op.f('pk_contexts'))
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('prompts',
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('context_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['context_id'], ['contexts.context_id'], name=op.f('fk_prompts_context_id_contexts')),
    sa.PrimaryKeyConstraint('prompt_id', name=op.f('pk_prompts'))
    )
    op.create_table('participants',
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('study', sa.String(length=64), nullable=False),
    sa.Column('panel_id', sa.String(length=64), nullable=True),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('demographics', sa.JSON(), nullable=False),
    sa.Column('completion_code', sa.String(length=64), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stage IN ('articulate', 'select', 'relate', 'finish')", name=op.f('ck_participants_stage')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.prompt_id'], name=op.f('fk_participants_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_participants')),
    sa.UniqueConstraint('study', 'panel_id', name=op.f('uq_participants_study_panel_id'))
    )
    op.create_table('cards',
    sa.Column('card_id', sa.String(length=64), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('context_id', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('policies', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['participants.participant_id'], name=op.f('fk_cards_author_id_participants')),
    sa.ForeignKeyConstraint(['context_id'], ['contexts.context_id'], name=op.f('fk_cards_context_id_contexts')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.prompt_id'], name=op.f('fk_cards_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_cards')),
    sa.UniqueConstraint('author_id', 'prompt_id', name=op.f('uq_cards_author_id_prompt_id'))
    )
    op.create_index(op.f('ix_cards_context_id'), 'cards', ['context_id'], unique=False)
    op.create_index(op.f('ix_cards_prompt_id'), 'cards', ['prompt_id'], unique=False)
    op.create_table('interviews',
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.participant_id'], name=op.f('fk_interviews_participant_id_participants')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.prompt_id'], name=op.f('fk_interviews_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_interviews'))
    )
    op.create_table('hypotheses',
    sa.Column('hypothesis_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('context_id', sa.String(length=64), nullable=False),
    sa.Column('from_card', sa.String(length=64), nullable=False),
    sa.Column('to_card', sa.String(length=64), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('story_source', sa.String(length=16), nullable=False),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('from_card <> to_card', name=op.f('ck_hypotheses_two_cards')),
    sa.ForeignKeyConstraint(['context_id'], ['contexts.context_id'], name=op.f('fk_hypotheses_context_id_contexts')),
    sa.ForeignKeyConstraint(['from_card'], ['cards.card_id'], name=op.f('fk_hypotheses_from_card_cards')),
    sa.ForeignKeyConstraint(['to_card'], ['cards.card_id'], name=op.f('fk_hypotheses_to_card_cards')),
    sa.PrimaryKeyConstraint('hypothesis_id', name=op.f('pk_hypotheses')),
    sa.UniqueConstraint('context_id', 'from_card', 'to_card', name=op.f('uq_hypotheses_context_id_from_card_to_card'))
    )
    op.create_table('judgements',
    sa.Column('judgement_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('context_id', sa.String(length=64), nullable=False),
    sa.Column('from_card', sa.String(length=64), nullable=False),
    sa.Column('to_card', sa.String(length=64), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('story', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('wiser', 'not_wiser', 'unsure')", name=op.f('ck_judgements_verdict')),
    sa.ForeignKeyConstraint(['context_id'], ['contexts.context_id'], name=op.f('fk_judgements_context_id_contexts')),
    sa.ForeignKeyConstraint(['from_card'], ['cards.card_id'], name=op.f('fk_judgements_from_card_cards')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.participant_id'], name=op.f('fk_judgements_participant_id_participants')),
    sa.ForeignKeyConstraint(['to_card'], ['cards.card_id'], name=op.f('fk_judgements_to_card_cards')),
    sa.PrimaryKeyConstraint('judgement_id', name=op.f('pk_judgements')),
    sa.UniqueConstraint('participant_id', 'context_id', 'from_card', 'to_card', name=op.f('uq_judgements_participant_id_context_id_from_card_to_card'))
    )
    op.create_table('votes',
    sa.Column('vote_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('card_id', sa.String(length=64), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.card_id'], name=op.f('fk_votes_card_id_cards')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.participant_id'], name=op.f('fk_votes_participant_id_participants')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.prompt_id'], name=op.f('fk_votes_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('vote_id', name=op.f('pk_votes')),
    sa.UniqueConstraint('participant_id', 'prompt_id', 'card_id', name=op.f('uq_votes_participant_id_prompt_id_card_id'))
    )
    op.create_index(op.f('ix_votes_card_id'), 'votes', ['card_id'], unique=False)
    op.create_table('impressions',
    sa.Column('impression_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('context_id', sa.String(length=64), nullable=False),
    sa.Column('card_id', sa.String(length=64), nullable=True),
    sa.Column('hypothesis_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(stage = 'select' AND card_id IS NOT NULL) OR (stage = 'relate' AND hypothesis_id IS NOT NULL)", name=op.f('ck_impressions_shown')),
    sa.CheckConstraint("stage IN ('select', 'relate')", name=op.f('ck_impressions_stage')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.card_id'], name=op.f('fk_impressions_card_id_cards')),
    sa.ForeignKeyConstraint(['context_id'], ['contexts.context_id'], name=op.f('fk_impressions_context_id_contexts')),
    sa.ForeignKeyConstraint(['hypothesis_id'], ['hypotheses.hypothesis_id'], name=op.f('fk_impressions_hypothesis_id_hypotheses')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.participant_id'], name=op.f('fk_impressions_participant_id_participants')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.prompt_id'], name=op.f('fk_impressions_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('impression_id', name=op.f('pk_impressions')),
    sa.UniqueConstraint('participant_id', 'hypothesis_id', name=op.f('uq_impressions_participant_id_hypothesis_id')),
    sa.UniqueConstraint('participant_id', 'stage', 'card_id', name=op.f('uq_impressions_participant_id_stage_card_id'))
    )
    op.create_index(op.f('ix_impressions_participant_id'), 'impressions', ['participant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_impressions_participant_id'), table_name='impressions')
    op.drop_table('impressions')
    op.drop_index(op.f('ix_votes_card_id'), table_name='votes')
    op.drop_table('votes')
    op.drop_table('judgements')
    op.drop_table('hypotheses')
    op.drop_table('interviews')
    op.drop_index(op.f('ix_cards_prompt_id'), table_name='cards')
    op.drop_index(op.f('ix_cards_context_id'), table_name='cards')
    op.drop_table('cards')
    op.drop_table('participants')
    op.drop_table('prompts')
    op.drop_table('settings')
    op.drop_table('contexts')

"""Generated message modules; see tools/codegen/generate.py. Do not edit."""

# ruff: noqa
from __future__ import annotations

from protocol.coordinator_records.consumer_group_current_member_assignment_key import (
    ConsumerGroupCurrentMemberAssignmentKey,
)
from protocol.coordinator_records.consumer_group_current_member_assignment_value import (
    ConsumerGroupCurrentMemberAssignmentValue,
)
from protocol.coordinator_records.consumer_group_member_metadata_key import ConsumerGroupMemberMetadataKey
from protocol.coordinator_records.consumer_group_member_metadata_value import ConsumerGroupMemberMetadataValue
from protocol.coordinator_records.consumer_group_metadata_key import ConsumerGroupMetadataKey
from protocol.coordinator_records.consumer_group_metadata_value import ConsumerGroupMetadataValue
from protocol.coordinator_records.consumer_group_partition_metadata_key import (
    ConsumerGroupPartitionMetadataKey,
)
from protocol.coordinator_records.consumer_group_partition_metadata_value import (
    ConsumerGroupPartitionMetadataValue,
)
from protocol.coordinator_records.consumer_group_target_assignment_member_key import (
    ConsumerGroupTargetAssignmentMemberKey,
)
from protocol.coordinator_records.consumer_group_target_assignment_member_value import (
    ConsumerGroupTargetAssignmentMemberValue,
)
from protocol.coordinator_records.consumer_group_target_assignment_metadata_key import (
    ConsumerGroupTargetAssignmentMetadataKey,
)
from protocol.coordinator_records.consumer_group_target_assignment_metadata_value import (
    ConsumerGroupTargetAssignmentMetadataValue,
)
from protocol.coordinator_records.group_metadata_key import GroupMetadataKey
from protocol.coordinator_records.group_metadata_value import GroupMetadataValue
from protocol.coordinator_records.offset_commit_key import OffsetCommitKey
from protocol.coordinator_records.offset_commit_value import OffsetCommitValue
from protocol.coordinator_records.share_group_current_member_assignment_key import (
    ShareGroupCurrentMemberAssignmentKey,
)
from protocol.coordinator_records.share_group_current_member_assignment_value import (
    ShareGroupCurrentMemberAssignmentValue,
)
from protocol.coordinator_records.share_group_member_metadata_key import ShareGroupMemberMetadataKey
from protocol.coordinator_records.share_group_member_metadata_value import ShareGroupMemberMetadataValue
from protocol.coordinator_records.share_group_metadata_key import ShareGroupMetadataKey
from protocol.coordinator_records.share_group_metadata_value import ShareGroupMetadataValue
from protocol.coordinator_records.share_group_partition_metadata_key import ShareGroupPartitionMetadataKey
from protocol.coordinator_records.share_group_partition_metadata_value import ShareGroupPartitionMetadataValue
from protocol.coordinator_records.share_group_state_partition_metadata_key import (
    ShareGroupStatePartitionMetadataKey,
)
from protocol.coordinator_records.share_group_state_partition_metadata_value import (
    ShareGroupStatePartitionMetadataValue,
)
from protocol.coordinator_records.share_group_target_assignment_member_key import (
    ShareGroupTargetAssignmentMemberKey,
)
from protocol.coordinator_records.share_group_target_assignment_member_value import (
    ShareGroupTargetAssignmentMemberValue,
)
from protocol.coordinator_records.share_group_target_assignment_metadata_key import (
    ShareGroupTargetAssignmentMetadataKey,
)
from protocol.coordinator_records.share_group_target_assignment_metadata_value import (
    ShareGroupTargetAssignmentMetadataValue,
)
from protocol.coordinator_records.transaction_log_key import TransactionLogKey
from protocol.coordinator_records.transaction_log_value import TransactionLogValue

__all__ = [
    "ConsumerGroupCurrentMemberAssignmentKey",
    "ConsumerGroupCurrentMemberAssignmentValue",
    "ConsumerGroupMemberMetadataKey",
    "ConsumerGroupMemberMetadataValue",
    "ConsumerGroupMetadataKey",
    "ConsumerGroupMetadataValue",
    "ConsumerGroupPartitionMetadataKey",
    "ConsumerGroupPartitionMetadataValue",
    "ConsumerGroupTargetAssignmentMemberKey",
    "ConsumerGroupTargetAssignmentMemberValue",
    "ConsumerGroupTargetAssignmentMetadataKey",
    "ConsumerGroupTargetAssignmentMetadataValue",
    "GroupMetadataKey",
    "GroupMetadataValue",
    "OffsetCommitKey",
    "OffsetCommitValue",
    "ShareGroupCurrentMemberAssignmentKey",
    "ShareGroupCurrentMemberAssignmentValue",
    "ShareGroupMemberMetadataKey",
    "ShareGroupMemberMetadataValue",
    "ShareGroupMetadataKey",
    "ShareGroupMetadataValue",
    "ShareGroupPartitionMetadataKey",
    "ShareGroupPartitionMetadataValue",
    "ShareGroupStatePartitionMetadataKey",
    "ShareGroupStatePartitionMetadataValue",
    "ShareGroupTargetAssignmentMemberKey",
    "ShareGroupTargetAssignmentMemberValue",
    "ShareGroupTargetAssignmentMetadataKey",
    "ShareGroupTargetAssignmentMetadataValue",
    "TransactionLogKey",
    "TransactionLogValue",
]

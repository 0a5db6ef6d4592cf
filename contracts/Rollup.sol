// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice circomlibjs' generated Poseidon contract with 4 inputs (`poseidonContract.createCode(4)`).
interface IPoseidon4 {
    function poseidon(uint256[4] calldata input) external pure returns (uint256);
}

/// @notice Poseidon_5 (circomlibjs `poseidonContract.createCode(5)`): account leaves.
interface IPoseidon5 {
    function poseidon(uint256[5] calldata input) external pure returns (uint256);
}

/// @notice Poseidon_8 (contracts/poseidon.ts, same ABI and function as circomlibjs' would be): account-tree nodes.
interface IPoseidon8 {
    function poseidon(uint256[8] calldata input) external pure returns (uint256);
}

/// @notice snarkjs' generated Groth16 verifier for a batch circuit: five public inputs (PROTOCOL.md §5.2).
interface IGroth16Verifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[5] calldata input
    ) external view returns (bool);
}

/// @title Modex rollup (PROTOCOL.md, version 1)
/// @notice Holds the state root, the L1 queue (deposits, registrations, forced withdrawals) as a
///         Poseidon hash chain, the account owners, the token registry, and withdrawals pending a claim.
///         Forced withdrawals have a deadline; once one is missed anyone may freeze the rollup, and
///         users then exit with Merkle proofs against the last finalized root (PROTOCOL.md §6).
contract Rollup {
    // ---------------------------------------------------------------- constants

    /// BN254 scalar field.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// Baby Jubjub, twisted Edwards a·x² + y² = 1 + d·x²·y² over R.
    uint256 internal constant BJJ_A = 168700;
    uint256 internal constant BJJ_D = 168696;
    uint256 internal constant MAX_U128 = type(uint128).max;
    uint256 internal constant CHUNK_BYTES = 15;
    uint256 internal constant FILL_CHUNK_BYTES = 51;
    uint8 internal constant KIND_DEPOSIT = 1;
    uint8 internal constant KIND_REGISTER = 2;
    uint8 internal constant KIND_FORCED_EXIT = 3;
    uint256 internal constant FORCED_EXIT_BYTES = 16;
    uint8 internal constant OP_WITHDRAW = 3;
    uint8 internal constant ETH = 0;

    // ---------------------------------------------------------------- types, events, errors

    /// The trees and fee buckets, shared by every batch shape.
    struct Params {
        uint32 accountLevels; // arity-8 account tree levels: 8^accountLevels accounts
        uint32 balanceLevels; // arity-4 balance tree levels: 4^balanceLevels token ids
        uint32 feeBuckets; // F: fee tokens per batch
    }

    /// A batch shape (PROTOCOL.md §5.5): the slot counts of one batch circuit and its Groth16 verifier.
    struct Shape {
        address verifier;
        uint32 depositSlots; // D: L1 queue records per batch
        uint32 l2Slots; // N: transfer/withdraw slots per batch
        uint32 fillSlots; // M: order-fill slots per batch (51 bytes each, after the L2 chunks)
    }

    /// A forced withdrawal: queue record `queueIndex` (kind 3) must be consumed by block `deadline`.
    struct ForcedRequest {
        uint64 queueIndex;
        uint64 deadline;
        uint32 accountId;
        uint8 token;
    }

    /// Record `index` of the L1 queue; `queueHash` = queueHash(index + 1).
    /// For kind 2 (register) `sender` becomes the owner of `accountId`.
    event Enqueued(
        uint256 indexed index,
        uint32 indexed accountId,
        uint8 kind,
        uint8 token,
        uint128 amount,
        uint256 ax,
        uint256 ay,
        address indexed sender,
        uint256 queueHash
    );
    event TokenAdded(uint8 indexed id, address indexed token);
    event BatchFinalized(
        uint64 indexed batchNumber, uint256 newRoot, uint256 oldRoot, uint32 depositCount, uint32 timestamp
    );
    event WithdrawalCredited(
        uint64 indexed batchNumber, uint32 indexed accountId, address indexed owner, uint8 token, uint256 amount
    );
    event Claimed(address indexed owner, uint8 indexed token, address to, uint256 amount);
    event ForcedWithdrawalRequested(
        uint64 indexed forcedId, uint64 indexed queueIndex, uint32 indexed accountId, uint8 token, uint64 deadline
    );
    event ForcedWithdrawalProcessed(uint64 indexed forcedId, uint64 indexed batchNumber, uint256 amount);
    /// The rollup is frozen for good at `batchNumber` (its root is what exits prove against);
    /// `queueIndex` is the forced request whose deadline passed. (Named apart from the error Frozen().)
    event RollupFrozen(uint64 batchNumber, uint256 stateRoot, uint64 queueIndex);
    event Exited(uint32 indexed accountId, uint8 indexed token, address indexed owner, uint256 amount);
    event DepositRefunded(
        uint64 indexed index, uint32 indexed accountId, address indexed owner, uint8 token, uint256 amount
    );

    error ChainIdTooLarge(uint256 chainId);
    error InvalidParams();
    error NotAContract(address target);
    error ZeroAddress();
    error NotOperator();
    error Reentrancy();
    // keys and accounts
    error KeyNotInField();
    error KeyIsIdentity();
    error KeyNotOnCurve();
    error AccountTreeFull(uint256 maxAccounts);
    error UnknownAccount(uint32 accountId);
    // tokens and funds
    error UnknownToken(uint8 token);
    error TokenAlreadyAdded(address token);
    error TooManyTokens(uint256 maxTokens);
    error ZeroAmount();
    error WrongEthValue(uint256 expected, uint256 sent);
    error TokenCapExceeded(uint8 token, uint256 held, uint256 amount);
    error TransferAmountMismatch(uint256 expected, uint256 received);
    error TokenTransferFailed(address token);
    error EthTransferFailed(address to, uint256 amount);
    error NothingToClaim(address owner, uint8 token);
    error QueueIndexOutOfRange(uint256 index, uint256 queueLength);
    // batches
    error BadFeeTokensLength(uint256 length, uint256 expected);
    error BadWithdrawBitmapLength(uint256 length, uint256 expected);
    error UnknownShape(uint256 chunksLength, uint256 forcedExitsLength);
    error DuplicateShape(uint256 index);
    error TooManyDeposits(uint256 depositCount, uint256 depositSlots);
    error DepositsNotQueued(uint256 consumed, uint256 depositCount, uint256 queueLength);
    error TimestampBeforePrevious(uint32 timestamp, uint32 previous);
    error TimestampInFuture(uint32 timestamp, uint256 blockTimestamp);
    error TimestampTooOld(uint32 timestamp, uint256 blockTimestamp, uint32 maxLag);
    error RootNotInField(uint256 root);
    error InvalidProof();
    error BitmapBitOutOfRange(uint256 slot);
    error NotAWithdrawChunk(uint256 slot);
    // forced withdrawals and the escape hatch
    error NotAccountOwner(uint32 accountId, address owner);
    error ForcedRequestExpired(uint64 queueIndex, uint64 deadline);
    error ForcedRequestPending(uint32 accountId, uint8 token, uint64 forcedId);
    error NoExpiredRequest();
    error Frozen();
    error NotFrozen();
    error AlreadyExited(uint32 accountId, uint8 token);
    error NothingToExit();
    error BadProofLength();
    error BadExitProof();
    error NotRefundable();
    error AlreadyRefunded(uint64 index);
    error BadQueueRecord(uint64 index);
    error UnknownForcedRequest(uint64 forcedId);

    // ---------------------------------------------------------------- immutables

    IPoseidon4 public immutable poseidon4;
    IPoseidon5 public immutable poseidon5;
    IPoseidon8 public immutable poseidon8;
    /// Blocks a forced withdrawal may wait per D queue records ahead of it (its own batch included)
    /// before the rollup can be frozen (PROTOCOL.md §6.1).
    uint32 public immutable forcedDeadlineBlocks;
    /// Seconds a batch's timestamp may lag the block that finalizes it (PROTOCOL.md §3).
    uint32 public immutable maxTimestampLag;
    /// Registers tokens; owns account 0 (the fee account).
    address public immutable operator;
    uint32 internal immutable ACCOUNT_LEVELS;
    uint32 internal immutable BALANCE_LEVELS;
    uint32 internal immutable FEE_BUCKETS;
    /// The largest D of the deployment's shapes: the queue records one batch can consume (forcedDeadline).
    uint32 internal immutable MAX_DEPOSIT_SLOTS;
    uint256 public immutable maxAccounts;
    uint256 public immutable maxTokens;

    // ---------------------------------------------------------------- storage

    // One slot: everything submitBatch and the queue update.
    /// Number of finalized batches; batchRoots(batchNumber) is the current state root.
    uint64 public batchNumber;
    /// Queue records consumed by finalized batches.
    uint64 public consumed;
    /// Queue records ever enqueued.
    uint64 public queueLength;
    /// Timestamp of the last finalized batch (0 before the first).
    uint32 public lastTimestamp;
    uint32 public nextAccountId;

    // One slot: the forced-request cursor and the freeze flag.
    /// Forced requests ever made (ids 0 … forcedCount − 1).
    uint64 public forcedCount;
    /// The first forced request not yet processed by a finalized batch.
    uint64 public nextForced;
    /// Set by freeze(): no more batches or queue records; exits and refunds open.
    bool public frozen;

    /// State root after batch n; batchRoots(0) is the genesis root.
    mapping(uint256 => uint256) public batchRoots;
    /// queueHash[k] for k ≤ queueLength (queueHash[0] = 0).
    mapping(uint256 => uint256) internal _queueHash;
    /// L1 owner of each registered account.
    mapping(uint32 => address) public accountOwner;
    /// Token id → ERC-20 address; id 0 (ETH) is address(0).
    address[] internal _tokens;
    mapping(address => bool) public isToken;
    /// Amount of each token the contract owes to L2 and to pending claims: deposits minus claims, < 2^128.
    mapping(uint8 => uint256) public tokenHeld;
    /// Withdrawn on L2, finalized, not yet claimed.
    mapping(address => mapping(uint8 => uint256)) public pendingWithdrawal;
    mapping(uint64 => ForcedRequest) internal _forced;
    /// Escape hatch: balances paid out by exit().
    mapping(uint32 => mapping(uint8 => bool)) public exited;
    /// Escape hatch: unconsumed queue records refunded by refundDeposit().
    mapping(uint64 => bool) public refunded;
    /// forcedId + 1 of the unprocessed forced request of (account, token); 0 when none is open.
    mapping(uint32 => mapping(uint8 => uint64)) internal _openForced;
    /// The batch shapes, in constructor order (shapes()).
    Shape[] internal _shapes;
    /// _shapeKey(chunks length, forcedExits length) → the shape, packed in one word (_packShape); 0: none.
    /// submitBatch finds a batch's shape with one storage read.
    mapping(uint256 => uint256) internal _shapeByLengths;

    bool internal transient _locked;

    modifier notFrozen() {
        if (frozen) revert Frozen();
        _;
    }

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    // ---------------------------------------------------------------- construction

    /// `shapes_` comes last: as the first of these ten arguments, the legacy code generator's ABI decoder
    /// for the dynamic array runs out of stack ("stack too deep"), and viaIR would change all codegen.
    constructor(
        address poseidon4_,
        address poseidon5_,
        address poseidon8_,
        Params memory p,
        uint256 genesisRoot,
        uint256 operatorAx,
        uint256 operatorAy,
        uint32 forcedDeadlineBlocks_,
        uint32 maxTimestampLag_,
        Shape[] memory shapes_
    ) {
        if (block.chainid >= 2 ** 32) revert ChainIdTooLarge(block.chainid);
        if (
            p.accountLevels == 0 || p.accountLevels > 8 || p.balanceLevels == 0 || p.balanceLevels > 4
                || p.feeBuckets == 0 || p.feeBuckets > 256 || forcedDeadlineBlocks_ == 0 || maxTimestampLag_ == 0
                || shapes_.length == 0 || shapes_.length > 16
        ) revert InvalidParams();
        MAX_DEPOSIT_SLOTS = _addShapes(shapes_);
        if (poseidon4_.code.length == 0) revert NotAContract(poseidon4_);
        if (poseidon5_.code.length == 0) revert NotAContract(poseidon5_);
        if (poseidon8_.code.length == 0) revert NotAContract(poseidon8_);
        if (genesisRoot >= R) revert RootNotInField(genesisRoot);

        poseidon4 = IPoseidon4(poseidon4_);
        poseidon5 = IPoseidon5(poseidon5_);
        poseidon8 = IPoseidon8(poseidon8_);
        forcedDeadlineBlocks = forcedDeadlineBlocks_;
        maxTimestampLag = maxTimestampLag_;
        operator = msg.sender;
        ACCOUNT_LEVELS = p.accountLevels;
        BALANCE_LEVELS = p.balanceLevels;
        FEE_BUCKETS = p.feeBuckets;
        maxAccounts = 8 ** uint256(p.accountLevels); // ≤ 2^24: account ids are u24 on the wire
        maxTokens = 4 ** uint256(p.balanceLevels); // ≤ 256: token ids are u8 on the wire

        batchRoots[0] = genesisRoot;
        _tokens.push(address(0)); // id 0 = ETH
        emit TokenAdded(ETH, address(0));
        // Account 0, the fee account: a kind-2 record with token 0 and amount 0.
        _register(msg.sender, operatorAx, operatorAy, ETH, 0);
    }

    /// Stores the shape table; returns the largest D. Each count ≤ 65536, at least one slot per shape,
    /// a verifier with code, no two shapes with the same (chunks, forcedExits) lengths (DuplicateShape
    /// names the later one), and at least one shape with an L1 slot (else the queue could never drain).
    function _addShapes(Shape[] memory shapes_) internal returns (uint32 maxDeposit) {
        for (uint256 i = 0; i < shapes_.length; ++i) {
            Shape memory s = shapes_[i];
            if (
                s.depositSlots > 65536 || s.l2Slots > 65536 || s.fillSlots > 65536
                    || uint256(s.depositSlots) + s.l2Slots + s.fillSlots == 0
            ) revert InvalidParams();
            if (s.verifier.code.length == 0) revert NotAContract(s.verifier);
            uint256 key = _shapeKey(_chunksBytes(s.l2Slots, s.fillSlots), uint256(s.depositSlots) * FORCED_EXIT_BYTES);
            if (_shapeByLengths[key] != 0) revert DuplicateShape(i);
            _shapeByLengths[key] = _packShape(s);
            _shapes.push(s);
            if (s.depositSlots > maxDeposit) maxDeposit = s.depositSlots;
        }
        if (maxDeposit == 0) revert InvalidParams();
    }

    // ---------------------------------------------------------------- tokens

    /// @notice Registers an ERC-20 under the next token id. Operator only.
    function addToken(address token) external notFrozen returns (uint8 id) {
        if (msg.sender != operator) revert NotOperator();
        if (token.code.length == 0) revert NotAContract(token);
        if (isToken[token]) revert TokenAlreadyAdded(token);
        uint256 n = _tokens.length;
        if (n >= maxTokens) revert TooManyTokens(maxTokens);
        _tokens.push(token);
        isToken[token] = true;
        id = uint8(n);
        emit TokenAdded(id, token);
    }

    // ---------------------------------------------------------------- L1 queue

    /// @notice Queues a registration (kind 2): creates account `nextAccountId` with key (ax, ay),
    ///         owned by msg.sender, crediting `amount` of `token` (may be 0).
    function register(uint256 ax, uint256 ay, uint8 token, uint128 amount)
        external
        payable
        notFrozen
        nonReentrant
        returns (uint32 accountId)
    {
        accountId = _register(msg.sender, ax, ay, token, amount);
        _pullFunds(token, amount);
    }

    /// @notice Queues a deposit (kind 1) of `amount` of `token` to the existing account `accountId`.
    function deposit(uint32 accountId, uint8 token, uint128 amount) external payable notFrozen nonReentrant {
        if (accountId >= nextAccountId) revert UnknownAccount(accountId);
        if (amount == 0) revert ZeroAmount();
        _enqueue(accountId, token, KIND_DEPOSIT, amount, 0, 0, msg.sender);
        _pullFunds(token, amount);
    }

    /// @notice Forces the whole balance of `token` of `accountId` out of L2: queues a kind-3 record
    ///         that batches must consume by its deadline, forcedDeadlineBlocks blocks per D records
    ///         queued ahead of it (its own included); the batch that consumes it credits the balance
    ///         to the owner's pending withdrawal. Owner only; one open request per (account, token).
    function requestForcedWithdrawal(uint32 accountId, uint8 token) external notFrozen returns (uint64 forcedId) {
        address owner = accountOwner[accountId];
        if (msg.sender != owner || owner == address(0)) revert NotAccountOwner(accountId, owner);
        if (token >= _tokens.length) revert UnknownToken(token);
        uint64 open = _openForced[accountId][token];
        if (open != 0) revert ForcedRequestPending(accountId, token, open - 1);
        uint64 queueIndex = queueLength;
        uint64 deadline = forcedDeadline();
        _enqueue(accountId, token, KIND_FORCED_EXIT, 0, 0, 0, msg.sender);
        forcedId = forcedCount;
        forcedCount = forcedId + 1;
        _openForced[accountId][token] = forcedId + 1;
        _forced[forcedId] = ForcedRequest(queueIndex, deadline, accountId, token);
        emit ForcedWithdrawalRequested(forcedId, queueIndex, accountId, token, deadline);
    }

    /// @notice The deadline a forced request sent in this block gets: block.number + forcedDeadlineBlocks
    ///         · (1 + ⌊ahead / D⌋), ahead = queueLength − consumed (the records it waits behind), D the
    ///         largest of the shapes' L1 slots, and never before the deadline of the unprocessed forced
    ///         request ahead of it (PROTOCOL.md §6.1, §5.5).
    function forcedDeadline() public view returns (uint64 deadline) {
        uint64 ahead = queueLength - consumed;
        deadline = uint64(block.number) + uint64(forcedDeadlineBlocks) * (1 + ahead / MAX_DEPOSIT_SLOTS);
        uint64 count = forcedCount;
        if (count > nextForced) {
            uint64 previous = _forced[count - 1].deadline;
            if (previous > deadline) deadline = previous;
        }
    }

    function _register(address owner, uint256 ax, uint256 ay, uint8 token, uint128 amount)
        internal
        returns (uint32 accountId)
    {
        _checkKey(ax, ay);
        accountId = nextAccountId;
        if (accountId >= maxAccounts) revert AccountTreeFull(maxAccounts);
        nextAccountId = accountId + 1;
        accountOwner[accountId] = owner;
        _enqueue(accountId, token, KIND_REGISTER, amount, ax, ay, owner);
    }

    /// queueHash[k+1] = Poseidon_4(queueHash[k], packed, ax, ay),
    /// packed = accountId + token·2^32 + kind·2^40 + amount·2^48.
    function _enqueue(uint32 accountId, uint8 token, uint8 kind, uint128 amount, uint256 ax, uint256 ay, address sender)
        internal
    {
        uint64 k = queueLength;
        uint256 packed =
            uint256(accountId) | (uint256(token) << 32) | (uint256(kind) << 40) | (uint256(amount) << 48);
        uint256 h = poseidon4.poseidon([_queueHash[k], packed, ax, ay]);
        _queueHash[k + 1] = h;
        queueLength = k + 1;
        emit Enqueued(k, accountId, kind, token, amount, ax, ay, sender, h);
    }

    /// Takes `amount` of `token` from msg.sender and keeps the contract's holdings of the token < 2^128.
    function _pullFunds(uint8 token, uint128 amount) internal {
        if (token >= _tokens.length) revert UnknownToken(token);
        uint256 held = tokenHeld[token];
        if (held + amount > MAX_U128) revert TokenCapExceeded(token, held, amount);
        tokenHeld[token] = held + amount;
        if (token == ETH) {
            if (msg.value != amount) revert WrongEthValue(amount, msg.value);
            return;
        }
        if (msg.value != 0) revert WrongEthValue(0, msg.value);
        if (amount == 0) return;
        address erc20 = _tokens[token];
        uint256 before = _balanceOf(erc20);
        _callToken(erc20, abi.encodeCall(IERC20Min.transferFrom, (msg.sender, address(this), amount)));
        // Count what arrived, not what was asked: fee-on-transfer tokens must not inflate L2 balances.
        uint256 balanceAfter = _balanceOf(erc20);
        if (balanceAfter != before + amount) {
            revert TransferAmountMismatch(amount, balanceAfter > before ? balanceAfter - before : 0);
        }
    }

    /// Baby Jubjub point other than the identity, coordinates canonical (< R).
    function _checkKey(uint256 ax, uint256 ay) internal pure {
        if (ax >= R || ay >= R) revert KeyNotInField();
        if (ax == 0 && ay == 1) revert KeyIsIdentity();
        uint256 x2 = mulmod(ax, ax, R);
        uint256 y2 = mulmod(ay, ay, R);
        uint256 lhs = addmod(mulmod(BJJ_A, x2, R), y2, R);
        uint256 rhs = addmod(1, mulmod(BJJ_D, mulmod(x2, y2, R), R), R);
        if (lhs != rhs) revert KeyNotOnCurve();
    }

    // ---------------------------------------------------------------- batches

    /// @notice Finalizes the next batch. `proof` is snarkjs' (a, b, c) as verifyProof takes it:
    ///         [a0, a1, b00, b01, b10, b11, c0, c1] with each B coordinate pair already swapped
    ///         the way snarkjs' exportSolidityCallData swaps it.
    function submitBatch(
        uint256 newRoot,
        uint32 timestamp,
        uint32 depositCount,
        bytes calldata feeTokens,
        bytes calldata withdrawBitmap,
        bytes calldata chunks,
        bytes calldata forcedExits,
        uint256[8] calldata proof
    ) external notFrozen {
        Header memory h = _checkBatch(
            newRoot, timestamp, depositCount, feeTokens.length, withdrawBitmap.length, chunks.length, forcedExits.length
        );
        _verify(proof, h, _digest(_pubdata(h, feeTokens, withdrawBitmap, chunks, forcedExits)), address(uint160(h.shape)));
        _finalize(h, withdrawBitmap, chunks, forcedExits);
    }

    function _finalize(Header memory h, bytes calldata withdrawBitmap, bytes calldata chunks, bytes calldata forcedExits)
        internal
    {
        uint64 n = batchNumber + 1;
        batchNumber = n;
        consumed = h.newConsumed;
        lastTimestamp = uint32(h.timestamp);
        batchRoots[n] = h.newRoot;
        emit BatchFinalized(n, h.newRoot, h.oldRoot, uint32(h.newConsumed - h.oldConsumed), uint32(h.timestamp));
        _creditWithdrawals(n, withdrawBitmap, chunks, (h.shape >> 192) & 0xffffffff);
        // Reads forcedExits[16·(queueIndex − oldConsumed)] < 16·depositCount ≤ 16·D: inside the shape's forcedExits.
        _processForced(n, h.oldConsumed, h.newConsumed, forcedExits);
    }

    /// @notice The public inputs submitBatch would verify the proof against, after all of its checks
    ///         (lengths, queue range, timestamp): [data digest, oldRoot, newRoot, queueHashBefore,
    ///         queueHashAfter]. For clients cross-checking their pubdata.
    function computePublicInputs(
        uint256 newRoot,
        uint32 timestamp,
        uint32 depositCount,
        bytes calldata feeTokens,
        bytes calldata withdrawBitmap,
        bytes calldata chunks,
        bytes calldata forcedExits
    ) external view returns (uint256[5] memory inputs) {
        Header memory h = _checkBatch(
            newRoot, timestamp, depositCount, feeTokens.length, withdrawBitmap.length, chunks.length, forcedExits.length
        );
        inputs[0] = _digest(_pubdata(h, feeTokens, withdrawBitmap, chunks, forcedExits));
        inputs[1] = h.oldRoot;
        inputs[2] = h.newRoot;
        inputs[3] = h.queueHashBefore;
        inputs[4] = h.queueHashAfter;
    }

    /// @notice The batch's pubdata, PROTOCOL.md §5.2 (same checks as computePublicInputs).
    function computePubdata(
        uint256 newRoot,
        uint32 timestamp,
        uint32 depositCount,
        bytes calldata feeTokens,
        bytes calldata withdrawBitmap,
        bytes calldata chunks,
        bytes calldata forcedExits
    ) external view returns (bytes memory) {
        Header memory h = _checkBatch(
            newRoot, timestamp, depositCount, feeTokens.length, withdrawBitmap.length, chunks.length, forcedExits.length
        );
        return _pubdata(h, feeTokens, withdrawBitmap, chunks, forcedExits);
    }

    /// The first 156 bytes of pubdata (less the chain id and the rollup's address), the queue positions
    /// before and after the batch, and the batch's shape (packed, _packShape).
    struct Header {
        uint256 oldRoot;
        uint256 newRoot;
        uint256 queueHashBefore;
        uint256 queueHashAfter;
        uint256 timestamp;
        uint64 oldConsumed;
        uint64 newConsumed;
        uint256 shape;
    }

    /// The chunks length of a shape: N L2 chunks (15 bytes) and M fill chunks (51 bytes).
    function _chunksBytes(uint256 l2Slots, uint256 fillSlots) internal pure returns (uint256) {
        return l2Slots * CHUNK_BYTES + fillSlots * FILL_CHUNK_BYTES;
    }

    /// The _shapeByLengths key of (chunks length, forcedExits length); injective below 2^128 each
    /// (calldata lengths always are; shapeOf refuses larger ones).
    function _shapeKey(uint256 chunksLength, uint256 forcedExitsLength) internal pure returns (uint256) {
        return (chunksLength << 128) | forcedExitsLength;
    }

    /// verifier (bits 0‥159) ‖ D (160‥191) ‖ N (192‥223) ‖ M (224‥255): never 0 (the verifier has code).
    function _packShape(Shape memory s) internal pure returns (uint256) {
        return uint256(uint160(s.verifier)) | (uint256(s.depositSlots) << 160) | (uint256(s.l2Slots) << 192)
            | (uint256(s.fillSlots) << 224);
    }

    function _unpackShape(uint256 w) internal pure returns (Shape memory) {
        return Shape(address(uint160(w)), uint32(w >> 160), uint32(w >> 192), uint32(w >> 224));
    }

    function _checkBatch(
        uint256 newRoot,
        uint32 timestamp,
        uint32 depositCount,
        uint256 feeTokensLength,
        uint256 bitmapLength,
        uint256 chunksLength,
        uint256 forcedExitsLength
    ) internal view returns (Header memory h) {
        if (feeTokensLength != FEE_BUCKETS) revert BadFeeTokensLength(feeTokensLength, FEE_BUCKETS);
        // The shape is the one whose chunks and forcedExits lengths these are (one storage read); the
        // constructor refused two shapes with the same pair, so a batch has at most one (PROTOCOL.md §5.5).
        uint256 shape = _shapeByLengths[_shapeKey(chunksLength, forcedExitsLength)];
        if (shape == 0) revert UnknownShape(chunksLength, forcedExitsLength);
        uint256 bitmapBytes = (((shape >> 192) & 0xffffffff) + 7) / 8;
        if (bitmapLength != bitmapBytes) revert BadWithdrawBitmapLength(bitmapLength, bitmapBytes);
        uint256 depositSlots = (shape >> 160) & 0xffffffff;
        if (depositCount > depositSlots) revert TooManyDeposits(depositCount, depositSlots);
        uint64 c = consumed;
        uint64 len = queueLength;
        uint64 after_ = c + depositCount;
        if (after_ > len) revert DepositsNotQueued(c, depositCount, len);
        uint32 prev = lastTimestamp;
        if (timestamp < prev) revert TimestampBeforePrevious(timestamp, prev);
        if (timestamp > block.timestamp) revert TimestampInFuture(timestamp, block.timestamp);
        if (uint256(timestamp) + maxTimestampLag < block.timestamp) {
            revert TimestampTooOld(timestamp, block.timestamp, maxTimestampLag);
        }
        if (newRoot >= R) revert RootNotInField(newRoot);
        h.oldRoot = batchRoots[batchNumber];
        h.newRoot = newRoot;
        h.queueHashBefore = _queueHash[c];
        h.queueHashAfter = depositCount == 0 ? h.queueHashBefore : _queueHash[after_];
        h.timestamp = timestamp;
        h.oldConsumed = c;
        h.newConsumed = after_;
        h.shape = shape;
    }

    /// oldRoot ‖ newRoot ‖ queueHashBefore ‖ queueHashAfter ‖ u32 chainId ‖ u32 timestamp ‖ address(this)
    /// ‖ feeTokens ‖ withdrawBitmap ‖ chunks ‖ forcedExits. The rollup's own address binds the proof, and
    /// through it every signature in the batch, to this deployment (PROTOCOL.md §4.4).
    function _pubdata(
        Header memory h,
        bytes calldata feeTokens,
        bytes calldata withdrawBitmap,
        bytes calldata chunks,
        bytes calldata forcedExits
    ) internal view returns (bytes memory pd) {
        assembly ("memory-safe") {
            pd := mload(0x40)
            let p := add(pd, 0x20)
            mstore(p, mload(h)) // oldRoot
            mstore(add(p, 0x20), mload(add(h, 0x20))) // newRoot
            mstore(add(p, 0x40), mload(add(h, 0x40))) // queueHashBefore
            mstore(add(p, 0x60), mload(add(h, 0x60))) // queueHashAfter
            // chainid < 2^32 (checked at construction); timestamp < 2^32 (a uint32 argument)
            mstore(add(p, 0x80), or(shl(224, chainid()), shl(192, mload(add(h, 0x80)))))
            mstore(add(p, 136), shl(96, address())) // 20 bytes; the 12 after are overwritten below
            let o := add(p, 156)
            calldatacopy(o, feeTokens.offset, feeTokens.length)
            o := add(o, feeTokens.length)
            calldatacopy(o, withdrawBitmap.offset, withdrawBitmap.length)
            o := add(o, withdrawBitmap.length)
            calldatacopy(o, chunks.offset, chunks.length)
            o := add(o, chunks.length)
            calldatacopy(o, forcedExits.offset, forcedExits.length)
            o := add(o, forcedExits.length)
            mstore(pd, sub(o, p))
            mstore(0x40, and(add(o, 31), not(31)))
        }
    }

    /// The data digest, the proof's first public input: uint256(sha256(pubdata[128:])) mod 2^253. The 128
    /// bytes skipped are the four header words, which the proof takes as public inputs of their own.
    function _digest(bytes memory pd) internal view returns (uint256 input) {
        assembly ("memory-safe") {
            // pd always holds the 128 bytes of the words (_pubdata writes them first)
            if iszero(staticcall(gas(), 0x02, add(pd, 0xa0), sub(mload(pd), 0x80), 0x00, 0x20)) { revert(0, 0) }
            input := and(mload(0x00), shr(3, not(0)))
        }
    }

    /// Calls the batch's shape's verifier `v` with the five public inputs [digest, oldRoot, newRoot,
    /// queueHashBefore, queueHashAfter]. Each word is below r: the roots and queue hashes the contract
    /// stored, newRoot checked by _checkBatch, the digest masked to 253 bits.
    function _verify(uint256[8] calldata proof, Header memory h, uint256 digest, address v) internal view {
        bool ok;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, shl(224, 0x34baeab9)) // verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5])
            calldatacopy(add(p, 4), proof, 256) // a[2], b[2][2], c[2]: static, ABI-encoded in place
            mstore(add(p, 260), digest)
            mstore(add(p, 292), mload(h)) // oldRoot
            mstore(add(p, 324), mload(add(h, 0x20))) // newRoot
            mstore(add(p, 356), mload(add(h, 0x40))) // queueHashBefore
            mstore(add(p, 388), mload(add(h, 0x60))) // queueHashAfter
            let success := staticcall(gas(), v, p, 420, 0x00, 0x20)
            ok := and(success, and(gt(returndatasize(), 31), eq(mload(0x00), 1)))
        }
        if (!ok) revert InvalidProof();
    }

    /// Credits every withdraw slot flagged in the bitmap (bit i, MSB first, = L2 slot i of the batch's
    /// `l2Slots`). Cost scales with the number of set bits plus one word read per 256 slots.
    function _creditWithdrawals(uint64 batch, bytes calldata bitmap, bytes calldata chunks, uint256 l2Slots) internal {
        uint256 len = bitmap.length;
        for (uint256 w = 0; w < len; w += 32) {
            uint256 word;
            assembly ("memory-safe") {
                word := calldataload(add(bitmap.offset, w))
            }
            uint256 rest = len - w;
            if (rest < 32) word &= ~(type(uint256).max >> (rest * 8)); // drop bytes past the bitmap
            for (uint256 b = w * 8; word != 0; b += 8) {
                uint256 byteBits = word >> 248;
                word <<= 8;
                if (byteBits == 0) continue;
                for (uint256 bit = 0; bit < 8; ++bit) {
                    if (byteBits & (0x80 >> bit) != 0) _creditWithdrawal(batch, b + bit, chunks, l2Slots);
                }
            }
        }
    }

    /// Withdraw chunk: 03 ‖ account u24 ‖ token u8 ‖ amount float40 ‖ fee float16 ‖ 00 00 00.
    function _creditWithdrawal(uint64 batch, uint256 slot, bytes calldata chunks, uint256 l2Slots) internal {
        if (slot >= l2Slots) revert BitmapBitOutOfRange(slot);
        uint256 w;
        assembly ("memory-safe") {
            w := calldataload(add(chunks.offset, mul(slot, 15)))
        }
        if (w >> 248 != OP_WITHDRAW) revert NotAWithdrawChunk(slot);
        uint32 account = uint32((w >> 224) & 0xffffff);
        uint8 token = uint8(w >> 216);
        uint256 f = (w >> 176) & 0xffffffffff;
        uint256 amount = (f & 0x7ffffffff) * 10 ** (f >> 35); // float40: m · 10^e
        if (account >= nextAccountId) revert UnknownAccount(account);
        address owner = accountOwner[account];
        if (amount != 0) pendingWithdrawal[owner][token] += amount;
        emit WithdrawalCredited(batch, account, owner, token, amount);
    }

    /// Credits every forced request whose record this batch consumed (queue indices in [before, after))
    /// with its slot's exit amount (u128 big-endian at forcedExits[16·(queueIndex − before)]), then
    /// refuses the batch if it leaves an expired request unprocessed.
    function _processForced(uint64 batch, uint64 before, uint64 after_, bytes calldata forcedExits) internal {
        uint64 first = nextForced;
        uint64 count = forcedCount;
        uint64 next = first;
        while (next < count) {
            ForcedRequest memory r = _forced[next];
            if (r.queueIndex >= after_) {
                if (r.deadline < block.number) revert ForcedRequestExpired(r.queueIndex, r.deadline);
                break;
            }
            uint256 amount;
            uint256 at = uint256(r.queueIndex - before) * FORCED_EXIT_BYTES;
            assembly ("memory-safe") {
                amount := shr(128, calldataload(add(forcedExits.offset, at)))
            }
            address owner = accountOwner[r.accountId];
            if (amount != 0) pendingWithdrawal[owner][r.token] += amount;
            delete _openForced[r.accountId][r.token];
            emit WithdrawalCredited(batch, r.accountId, owner, r.token, amount);
            emit ForcedWithdrawalProcessed(next, batch, amount);
            ++next;
        }
        if (next != first) nextForced = next;
    }

    // ---------------------------------------------------------------- escape hatch

    /// @notice Freezes the rollup for good once a forced request has waited past its deadline.
    ///         Anyone may call it. After it: no batches, no queue records; exit() and refundDeposit() open.
    function freeze() external {
        if (frozen) revert Frozen();
        uint64 next = nextForced;
        if (next >= forcedCount) revert NoExpiredRequest();
        ForcedRequest memory r = _forced[next];
        if (r.deadline >= block.number) revert NoExpiredRequest();
        frozen = true;
        uint64 n = batchNumber;
        emit RollupFrozen(n, batchRoots[n], r.queueIndex);
    }

    /// @notice Pays out one balance of the last finalized state: `balance` of `token` of `accountId`, with
    ///         the account's fields and both Merkle paths (core/smt.ts MerkleProof.siblings flattened,
    ///         level 0 first: balanceLevels × 3, then accountLevels × 7). Credits the account's L1 owner.
    function exit(
        uint32 accountId,
        uint8 token,
        uint128 balance,
        uint256 ax,
        uint256 ay,
        uint256 nonce,
        uint256 orderRoot,
        uint256[] calldata balanceSiblings,
        uint256[] calldata accountSiblings
    ) external {
        if (!frozen) revert NotFrozen();
        if (accountId >= nextAccountId) revert UnknownAccount(accountId);
        if (token >= _tokens.length) revert UnknownToken(token);
        if (exited[accountId][token]) revert AlreadyExited(accountId, token);
        if (balance == 0) revert NothingToExit();
        if (balanceSiblings.length != uint256(BALANCE_LEVELS) * 3 || accountSiblings.length != uint256(ACCOUNT_LEVELS) * 7)
        {
            revert BadProofLength();
        }
        if (ax >= R || ay >= R || nonce >= R || orderRoot >= R) revert BadExitProof();
        uint256 balanceRoot = _balanceRoot(token, balance, balanceSiblings);
        uint256 leaf = poseidon5.poseidon([ax, ay, nonce, balanceRoot, orderRoot]);
        if (_accountRoot(accountId, leaf, accountSiblings) != batchRoots[batchNumber]) revert BadExitProof();

        exited[accountId][token] = true;
        address owner = accountOwner[accountId];
        pendingWithdrawal[owner][token] += balance;
        emit Exited(accountId, token, owner, balance);
    }

    /// Balance-tree root (arity 4) from the leaf `balance` at index `token`.
    function _balanceRoot(uint8 token, uint256 balance, uint256[] calldata sib) internal view returns (uint256 cur) {
        cur = balance;
        uint256 idx = token;
        uint256[4] memory c;
        for (uint256 l = 0; l < sib.length; l += 3) {
            uint256 pos = idx & 3;
            uint256 k = l;
            for (uint256 j = 0; j < 4; ++j) {
                if (j == pos) {
                    c[j] = cur;
                } else {
                    uint256 v = sib[k++];
                    if (v >= R) revert BadExitProof();
                    c[j] = v;
                }
            }
            cur = poseidon4.poseidon(c);
            idx >>= 2;
        }
    }

    /// Account-tree root (arity 8) from `leaf` at index `accountId`.
    function _accountRoot(uint32 accountId, uint256 leaf, uint256[] calldata sib) internal view returns (uint256 cur) {
        cur = leaf;
        uint256 idx = accountId;
        uint256[8] memory c;
        for (uint256 l = 0; l < sib.length; l += 7) {
            uint256 pos = idx & 7;
            uint256 k = l;
            for (uint256 j = 0; j < 8; ++j) {
                if (j == pos) {
                    c[j] = cur;
                } else {
                    uint256 v = sib[k++];
                    if (v >= R) revert BadExitProof();
                    c[j] = v;
                }
            }
            cur = poseidon8.poseidon(c);
            idx >>= 3;
        }
    }

    /// @notice Refunds an L1 queue record no batch consumed before the freeze (a deposit or a
    ///         registration's amount) to the owner of the account it was for. Anyone may send it with
    ///         the record's fields (from its Enqueued event).
    function refundDeposit(uint64 index, uint8 kind, uint32 accountId, uint8 token, uint128 amount, uint256 ax, uint256 ay)
        external
    {
        if (!frozen) revert NotFrozen();
        if (index < consumed || index >= queueLength) revert NotRefundable();
        if (refunded[index]) revert AlreadyRefunded(index);
        if ((kind != KIND_DEPOSIT && kind != KIND_REGISTER) || amount == 0) revert NotRefundable();
        uint256 packed =
            uint256(accountId) | (uint256(token) << 32) | (uint256(kind) << 40) | (uint256(amount) << 48);
        if (poseidon4.poseidon([_queueHash[index], packed, ax, ay]) != _queueHash[index + 1]) {
            revert BadQueueRecord(index);
        }
        refunded[index] = true;
        address owner = accountOwner[accountId];
        pendingWithdrawal[owner][token] += amount;
        emit DepositRefunded(index, accountId, owner, token, amount);
    }

    // ---------------------------------------------------------------- claims

    /// @notice Pays `owner` its pending withdrawal of `token`. Anyone may trigger it.
    function claim(address owner, uint8 token) external nonReentrant returns (uint256 amount) {
        amount = _claim(owner, token, owner);
    }

    /// @notice Pays msg.sender's pending withdrawal of `token` to `to` (for owners that cannot receive).
    function claimTo(uint8 token, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        amount = _claim(msg.sender, token, to);
    }

    function _claim(address owner, uint8 token, address to) internal returns (uint256 amount) {
        amount = pendingWithdrawal[owner][token];
        if (amount == 0) revert NothingToClaim(owner, token);
        pendingWithdrawal[owner][token] = 0;
        tokenHeld[token] -= amount;
        emit Claimed(owner, token, to, amount);
        if (token == ETH) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            _callToken(_tokens[token], abi.encodeCall(IERC20Min.transfer, (to, amount)));
        }
    }

    // ---------------------------------------------------------------- views

    function stateRoot() external view returns (uint256) {
        return batchRoots[batchNumber];
    }

    function queueHash(uint256 k) external view returns (uint256) {
        uint256 len = queueLength;
        if (k > len) revert QueueIndexOutOfRange(k, len);
        return _queueHash[k];
    }

    function tokenCount() external view returns (uint256) {
        return _tokens.length;
    }

    function tokenAddress(uint8 id) external view returns (address) {
        if (id >= _tokens.length) revert UnknownToken(id);
        return _tokens[id];
    }

    function forcedRequest(uint64 forcedId) external view returns (ForcedRequest memory) {
        if (forcedId >= forcedCount) revert UnknownForcedRequest(forcedId);
        return _forced[forcedId];
    }

    /// @notice The unprocessed forced request of (accountId, token), if one is open.
    function openForcedRequest(uint32 accountId, uint8 token) external view returns (bool open, uint64 forcedId) {
        uint64 id = _openForced[accountId][token];
        return id == 0 ? (false, 0) : (true, id - 1);
    }

    /// @notice The trees and fee buckets every shape shares.
    function params() external view returns (Params memory) {
        return Params(ACCOUNT_LEVELS, BALANCE_LEVELS, FEE_BUCKETS);
    }

    /// @notice The deployment's batch shapes, in constructor order (PROTOCOL.md §5.5).
    function shapes() external view returns (Shape[] memory) {
        return _shapes;
    }

    /// @notice The shape of a batch whose chunks and forcedExits have these lengths; UnknownShape when none.
    function shapeOf(uint256 chunksLength, uint256 forcedExitsLength) external view returns (Shape memory) {
        uint256 w = (chunksLength >> 128 | forcedExitsLength >> 128) == 0
            ? _shapeByLengths[_shapeKey(chunksLength, forcedExitsLength)]
            : 0;
        if (w == 0) revert UnknownShape(chunksLength, forcedExitsLength);
        return _unpackShape(w);
    }

    // ---------------------------------------------------------------- ERC-20 plumbing

    function _balanceOf(address erc20) internal view returns (uint256) {
        (bool ok, bytes memory ret) = erc20.staticcall(abi.encodeCall(IERC20Min.balanceOf, (address(this))));
        if (!ok || ret.length < 32) revert TokenTransferFailed(erc20);
        return abi.decode(ret, (uint256));
    }

    /// Accepts tokens that return true and tokens that return nothing.
    function _callToken(address erc20, bytes memory data) internal {
        (bool ok, bytes memory ret) = erc20.call(data);
        if (!ok || (ret.length != 0 && (ret.length < 32 || abi.decode(ret, (uint256)) != 1))) {
            revert TokenTransferFailed(erc20);
        }
    }
}

interface IERC20Min {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}
